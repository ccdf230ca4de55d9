"""``/v1/layouts`` and email rendering inside layouts (with the preheader)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.fakes.fixtures import add_workflow, details
from tests.support import Env, Stack

LAYOUT = (
    "<html><body><div class='frame'>{{{body}}}</div><footer>{{ subscriber.firstName }}</footer></body></html>"
)


async def create(env: Env, identifier: str, **extra: Any) -> str:
    body = {"name": identifier.title(), "identifier": identifier, "content": LAYOUT, **extra}
    resp = await env.http.post("/v1/layouts", json=body)
    assert resp.status_code == 201, resp.text
    assert list(resp.json()["data"]) == ["_id"]
    return str(resp.json()["data"]["_id"])


async def test_layout_crud_and_rules(env: Env) -> None:
    first = await create(env, "brand", isDefault=True)
    second = await create(env, "plain", description="no frills")
    no_body = await env.http.post(
        "/v1/layouts", json={"name": "x", "identifier": "x", "content": "<p>hi</p>"}
    )
    assert (
        no_body.status_code == 400 and no_body.json()["message"] == "Layout content must contain {{{body}}}"
    )
    dup = await env.http.post("/v1/layouts", json={"name": "b", "identifier": "brand", "content": LAYOUT})
    assert dup.status_code == 409
    assert dup.json()["message"] == f"Layout with identifier: brand already exists under environment {env.id}"

    page = (await env.http.get("/v1/layouts", params={"page": 0, "pageSize": 1})).json()
    assert page["page"] == 0 and page["pageSize"] == 1 and page["totalCount"] == 2 and len(page["data"]) == 1
    one = (await env.http.get(f"/v1/layouts/{second}")).json()["data"]
    assert one["identifier"] == "plain" and one["description"] == "no frills" and one["isDefault"] is False
    assert one["channel"] == "email" and one["contentType"] == "customHtml"
    assert (await env.http.get("/v1/layouts/000000000000000000000000")).status_code == 404

    patched = await env.http.patch(
        f"/v1/layouts/{second}", json={"name": "Plain 2", "content": "<b>{{{body}}}</b>"}
    )
    assert patched.status_code == 200 and patched.json()["data"]["name"] == "Plain 2"
    bad = await env.http.patch(f"/v1/layouts/{second}", json={"content": "no body"})
    assert bad.status_code == 400
    taken = await env.http.patch(f"/v1/layouts/{second}", json={"identifier": "brand"})
    assert taken.status_code == 409
    last_default = await env.http.patch(f"/v1/layouts/{first}", json={"isDefault": False})
    assert (
        last_default.status_code == 409 and last_default.json()["message"] == "One default layout is required"
    )

    assert (await env.http.post(f"/v1/layouts/{second}/default")).status_code == 204
    states = {d["_id"]: d["isDefault"] for d in (await env.http.get("/v1/layouts")).json()["data"]}
    assert states == {first: False, second: True}
    default_delete = await env.http.delete(f"/v1/layouts/{second}")
    assert default_delete.status_code == 409
    assert default_delete.json()["message"] == (
        f"Layout with id {second} is being used as your default layout, so it can not be deleted"
    )
    await add_workflow(
        env, "uses-brand", [{"type": "email", "subject": "s", "content": "c", "layoutId": first}]
    )
    in_use = await env.http.delete(f"/v1/layouts/{first}")
    assert in_use.status_code == 409
    assert in_use.json()["message"] == f"Layout with id {first} is being used so it can not be deleted"
    async with env.stack.db.session() as session:
        await session.exec(text("delete from workflow_definitions where trigger_identifier = 'uses-brand'"))  # type: ignore[call-overload]
    deleted = await env.http.delete(f"/v1/layouts/{first}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await env.http.get(f"/v1/layouts/{first}")).status_code == 404


async def test_layouts_are_per_environment(env: Env, stack: Stack) -> None:
    layout = await create(env, "mine")
    other = await stack.new_env()
    assert (await other.http.get(f"/v1/layouts/{layout}")).status_code == 404
    assert (await other.http.get("/v1/layouts")).json()["totalCount"] == 0
    await create(other, "mine")  # identifiers are unique per environment only


async def test_email_renders_in_layout_with_preheader(env: Env, stack: Stack) -> None:
    brand = await create(env, "brand")
    await create(env, "fallback", isDefault=True, content="<html><body>DEFAULT {{{body}}}</body></html>")
    await add_workflow(
        env,
        "framed",
        [{"type": "email", "subject": "Hello {{name}}", "content": "<p>Hi {{name}}</p>", "layoutId": brand,
          "preheader": "Sneak <peek> for {{name}}"}],
    )  # fmt: skip
    await add_workflow(env, "unframed", [{"type": "email", "subject": "Default", "content": "<p>Body</p>"}])
    to = {"subscriberId": "lay", "email": "lay@example.com", "firstName": "Lay"}
    await env.trigger("framed", to, {"name": "<Ada>"}, transactionId="lay-1")
    await env.settle("lay-1")
    (mail,) = await stack.mailbox.wait_for(1, "lay@example.com")
    html = mail.get_body(("html",)).get_content()
    assert "<div class='frame'><p>Hi &lt;Ada&gt;</p></div><footer>Lay</footer>" in html
    hidden = html.split("<body>", 1)[1]
    assert hidden.startswith('<div style="display:none;')
    assert "Sneak &lt;peek&gt; for &lt;Ada&gt;</div>" in hidden
    await env.trigger("unframed", to, {}, transactionId="lay-2")
    await env.settle("lay-2")
    mails = await stack.mailbox.wait_for(2, "lay@example.com")
    assert "DEFAULT <p>Body</p>" in mails[1].get_body(("html",)).get_content()
    # overrides.layoutIdentifier picks another layout for one trigger.
    await env.trigger("unframed", to, {}, transactionId="lay-3", overrides={"layoutIdentifier": "brand"})
    await env.settle("lay-3")
    mails = await stack.mailbox.wait_for(3, "lay@example.com")
    assert "<div class='frame'><p>Body</p></div>" in mails[2].get_body(("html",)).get_content()
    await env.trigger("unframed", to, {}, transactionId="lay-4", overrides={"layoutIdentifier": "nope"})
    await env.settle("lay-4")
    assert any(r.detail == "Layout not found " for r in await details(env, "lay-4"))
