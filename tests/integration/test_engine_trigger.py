"""Novu's synchronous trigger checks: statuses, reserved and required variables, defaults, tenants."""

from __future__ import annotations

from typing import Any

from tests.support import Env


async def create(
    env: Env, steps: list[dict[str, Any]], *, active: bool = True, name: str = "Checks"
) -> dict[str, Any]:
    body = {"name": name, "notificationGroup": {"name": "General"}, "active": active, "steps": steps}
    resp = await env.http.post("/v1/workflows", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]  # type: ignore[no-any-return]


def in_app(content: str, **template: Any) -> dict[str, Any]:
    return {"template": {"type": "in_app", "content": content, **template}}


async def status_of(env: Env, identifier: str, **extra: Any) -> dict[str, Any]:
    resp = await env.trigger(identifier, "sub-1", extra.pop("payload", {}), **extra)
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]  # type: ignore[no-any-return]


async def test_statuses(env: Env) -> None:
    inactive = await create(env, [in_app("x")], active=False, name="Inactive")
    answer = await status_of(env, inactive["triggers"][0]["identifier"], transactionId="tx-i")
    assert answer == {"acknowledged": True, "status": "trigger_not_active", "transactionId": "tx-i"}

    empty = await create(env, [], name="Empty")
    assert (await status_of(env, empty["triggers"][0]["identifier"]))["status"] == "no_workflow_steps_defined"

    idle = await create(env, [{**in_app("x"), "active": False}], name="Idle")
    idle_status = (await status_of(env, idle["triggers"][0]["identifier"]))["status"]
    assert idle_status == "no_workflow_active_steps_defined"

    live = await create(env, [in_app("x")], name="Live")
    identifier = live["triggers"][0]["identifier"]
    assert await status_of(env, identifier, tenant="ghost") == {
        "acknowledged": True,
        "status": "no_tenant_found",
    }
    assert (await status_of(env, identifier, transactionId="tx-live"))["status"] == "processed"
    await env.settle("tx-live")

    # A status change takes effect on the very next trigger (nothing stale is cached).
    await env.http.put(f"/v1/workflows/{live['_id']}/status", json={"active": False})
    assert (await status_of(env, identifier))["status"] == "trigger_not_active"


async def test_tenant_override_decides_active_and_tenant_reaches_templates(env: Env) -> None:
    await env.http.post("/v1/tenants", json={"identifier": "acme", "name": "Acme", "data": {"tier": "gold"}})
    await env.http.post("/v1/tenants", json={"identifier": "globex", "name": "Globex"})
    wf = await create(
        env,
        [
            in_app(
                "{{tenant.name}} ({{tenant.data.tier}})",
                variables=[],
            )
        ],
        name="Tenanted",
    )
    identifier = wf["triggers"][0]["identifier"]
    await env.http.post(
        "/v1/workflow-overrides", json={"workflowId": wf["_id"], "tenantId": "globex", "active": False}
    )
    off = await status_of(env, identifier, tenant="globex")
    assert off["status"] == "trigger_not_active"
    missing = await env.trigger(identifier, "sub-1", {})
    assert missing.status_code == 400 and missing.json()["message"] == "Trigger is missing: tenant object"
    on = await status_of(env, identifier, tenant={"identifier": "acme"}, transactionId="tx-acme")
    assert on["status"] == "processed"
    await env.settle("tx-acme")
    assert [m["content"] for m in (await env.feed("sub-1"))["data"]] == ["Acme (gold)"]


async def test_reserved_actor_variable(env: Env) -> None:
    wf = await create(env, [in_app("{{actor.firstName}} liked it")], name="Liked")
    identifier = wf["triggers"][0]["identifier"]
    resp = await env.trigger(identifier, "sub-1", {})
    assert resp.status_code == 400
    assert resp.json()["message"] == "Trigger is missing: subscriberId property of actor"
    await env.http.post("/v1/subscribers", json={"subscriberId": "actor-1", "firstName": "Grace"})
    ok = await env.trigger(identifier, "sub-1", {}, actor="actor-1", transactionId="tx-actor")
    assert ok.status_code == 201
    await env.settle("tx-actor")
    assert [m["content"] for m in (await env.feed("sub-1"))["data"]] == ["Grace liked it"]


async def test_required_variables_message_and_defaults(env: Env) -> None:
    variables = [
        {"name": "myUser.firstName", "type": "String", "defaultValue": "John"},
        {"name": "myUser.lastName", "type": "String", "required": True},
        {"name": "myUser.array", "type": "Array", "required": True},
        {"name": "myUser.bool", "type": "Boolean", "required": True},
        {"name": "org", "type": "String", "defaultValue": "Default Corp"},
    ]
    wf = await create(
        env,
        [in_app("Hello {{myUser.firstName}} {{myUser.lastName}} of {{org}}", variables=variables)],
        name="Required",
    )
    identifier = wf["triggers"][0]["identifier"]
    expected = (
        "payload is missing required key(s) and type(s): "
        "myUser.lastName (Value), myUser.array (Array), myUser.bool (Boolean)"
    )
    for payload in ({}, {"myUser": {"lastName": None, "array": "no", "bool": "true"}}):
        resp = await env.trigger(identifier, "sub-1", payload)
        assert resp.status_code == 400 and resp.json()["message"] == expected, resp.text
    ok = await env.trigger(
        identifier, "sub-1", {"myUser": {"lastName": "Doe", "array": [], "bool": True}}, transactionId="tx-d1"
    )
    assert ok.status_code == 201, ok.text
    await env.trigger(
        identifier,
        "sub-2",
        {"myUser": {"lastName": "", "array": [], "bool": False}, "org": "Umbrella Corp"},
        transactionId="tx-d2",
    )
    await env.settle("tx-d1")
    await env.settle("tx-d2")
    assert (await env.feed("sub-1"))["data"][0]["content"] == "Hello John Doe of Default Corp"
    assert (await env.feed("sub-2"))["data"][0]["content"] == "Hello John  of Umbrella Corp"


async def test_scheduled_delay_needs_an_iso_date(env: Env) -> None:
    wf = await create(
        env,
        [
            {
                "template": {"type": "delay", "content": ""},
                "metadata": {"type": "scheduled", "delayPath": "sendAt"},
            },
            in_app("later"),
        ],
        name="Scheduled",
    )
    identifier = wf["triggers"][0]["identifier"]
    for payload in ({}, {"sendAt": "20-09-2025"}):
        resp = await env.trigger(identifier, "sub-1", payload)
        assert resp.status_code == 400
        assert resp.json()["message"] == "payload is missing required key(s) and type(s): sendAt (ISO Date)"
