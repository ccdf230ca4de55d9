"""An email step is rendered once: its layout sees the same context as its content (the actor as a
subscriber, the preheader and sender name rendered with it)."""

from __future__ import annotations

from tests.fakes.fixtures import add_workflow
from tests.support import Env, Stack


async def test_layout_sees_the_enriched_actor_and_the_rendered_sender_name(env: Env, stack: Stack) -> None:
    layout = {
        "name": "Signed",
        "identifier": "signed",
        "content": "<html><body>{{{body}}}<footer>from {{actor.firstName}}</footer></body></html>",
    }
    resp = await env.http.post("/v1/layouts", json=layout)
    assert resp.status_code == 201, resp.text
    layout_id = resp.json()["data"]["_id"]
    boss = {"subscriberId": "boss", "firstName": "Grace"}
    assert (await env.http.post("/v1/subscribers", json=boss)).status_code == 201
    await add_workflow(
        env,
        "signed-mail",
        [{"type": "email", "subject": "Note", "content": "<p>{{actor.firstName}} wrote</p>", "layoutId": layout_id,
          "preheader": "A note from {{actor.firstName}}", "senderName": "{{actor.firstName}} at Acme"}],
    )  # fmt: skip
    to = {"subscriberId": "reader", "email": "reader@example.com"}
    resp = await env.trigger("signed-mail", to, {}, actor="boss", transactionId="once-1")
    assert resp.status_code == 201, resp.text
    await env.settle("once-1")
    (mail,) = await stack.mailbox.wait_for(1, "reader@example.com")
    html = mail.get_body(("html",)).get_content()
    assert "<p>Grace wrote</p><footer>from Grace</footer>" in html
    assert "A note from Grace</div>" in html
    assert "Grace at Acme" in mail["From"]
