"""An email step is rendered once: its layout sees the same context as its content (the actor as a
subscriber, the preheader and sender name rendered with it)."""

from __future__ import annotations

from tests import catalog_fixtures
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


async def test_a_code_workflow_layout_reads_earlier_steps_like_its_variant_body(
    env: Env, stack: Stack
) -> None:
    """A default layout reading ``{{ steps.plan.* }}`` sees the custom step's result, as the chosen
    (typed) variant's body and the preheader do; the preheader lands hidden in the received message."""
    layout = {
        "name": "Receipt",
        "identifier": "receipt",
        "isDefault": True,
        "content": "<html><body>{{{body}}}<footer>{{steps.plan.seats}} seats for {{subscriber.firstName}}"
        "</footer></body></html>",
    }
    assert (await env.http.post("/v1/layouts", json=layout)).status_code == 201
    await catalog_fixtures.add_to(env, "test-receipt")
    to = {"subscriberId": "vip-reader", "email": "vip@example.com", "firstName": "Ada"}
    resp = await env.trigger("test-receipt", to, {"user": "vip"}, transactionId="once-2")
    assert resp.status_code == 201, resp.text
    await env.settle("once-2")
    (mail,) = await stack.mailbox.wait_for(1, "vip@example.com")
    html = mail.get_body(("html",)).get_content()
    assert "5 seats included</div><p>VIP plan pro</p><footer>5 seats for Ada</footer>" in html
