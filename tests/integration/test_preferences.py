"""Subscriber preferences: Novu's GET/PATCH answers and their enforcement by the real worker."""

from __future__ import annotations

from typing import Any

from store.models import WorkflowDefinition
from tests.support import Env, Stack

IN_APP = {"_id": "step-inbox", "active": True, "template": {"type": "in_app", "content": "Hello there"}}
EMAIL = {
    "_id": "step-email",
    "active": True,
    "template": {
        "type": "email",
        "subject": "Hello",
        "content": "<p>Hello there</p>",
        "contentType": "customHtml",
    },
}


async def add_workflow(
    stack: Stack,
    env: Env,
    identifier: str,
    *,
    steps: list[dict[str, Any]] | None = None,
    critical: bool = False,
    active: bool = True,
    preference_settings: dict[str, bool] | None = None,
) -> str:
    """A REST-style workflow definition row, inserted directly (the workflows API is another module)."""
    row = WorkflowDefinition(
        environment_id=env.id,
        name=identifier.title(),
        trigger_identifier=identifier,
        origin="rest",
        active=active,
        critical=critical,
        tags=["t"],
        preference_settings=preference_settings
        or dict.fromkeys(("in_app", "email", "sms", "chat", "push"), True),
        steps=steps if steps is not None else [IN_APP, EMAIL],
        triggers=[{"type": "event", "identifier": identifier, "variables": []}],
    )
    async with stack.db.session() as session:
        session.add(row)
    return row.id


async def subscriber(env: Env, sid: str, email: str | None = None) -> None:
    resp = await env.http.post("/v1/subscribers", json={"subscriberId": sid, "email": email})
    assert resp.status_code == 201, resp.text


def by_identifier(prefs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["template"]["triggers"][0]["identifier"]: p for p in prefs}


async def test_get_lists_active_workflows_with_their_own_channels(env: Env, stack: Stack) -> None:
    wf_id = await add_workflow(stack, env, "comments")
    await add_workflow(stack, env, "drafts", active=False)
    await add_workflow(
        stack, env, "sms-only", steps=[{"_id": "x", "active": False, "template": {"type": "sms"}}, IN_APP]
    )
    await subscriber(env, "ann")
    resp = await env.http.get("/v1/subscribers/ann/preferences")
    assert resp.status_code == 200, resp.text
    prefs = by_identifier(resp.json()["data"])
    assert {"comments", "sms-only", "welcome"} <= set(prefs) and "drafts" not in prefs  # + other catalog ones
    comments = prefs["comments"]
    assert comments["template"] == {
        "_id": wf_id,
        "name": "Comments",
        "critical": False,
        "triggers": [{"type": "event", "identifier": "comments", "variables": []}],
        "tags": ["t"],
    }
    assert comments["preference"]["enabled"] is True
    assert comments["preference"]["channels"] == {"in_app": True, "email": True}
    assert {"channel": "email", "source": "template"} in comments["preference"]["overrides"]
    assert prefs["sms-only"]["preference"]["channels"] == {"in_app": True}
    assert prefs["welcome"]["preference"]["channels"] == {"in_app": True, "email": True}
    all_channels = await env.http.get(
        "/v1/subscribers/ann/preferences", params={"includeInactiveChannels": "true"}
    )
    assert len(by_identifier(all_channels.json()["data"])["comments"]["preference"]["channels"]) == 5
    template_level = await env.http.get("/v1/subscribers/ann/preferences/template")
    assert by_identifier(template_level.json()["data"]).keys() == prefs.keys()

    missing = await env.http.get("/v1/subscribers/nobody/preferences")
    assert missing.status_code == 400 and missing.json()["message"] == "Subscriber nobody not found"
    bad_level = await env.http.get("/v1/subscribers/ann/preferences/tenant")
    assert bad_level.status_code == 400


async def test_patch_workflow_preference(env: Env, stack: Stack) -> None:
    wf_id = await add_workflow(stack, env, "comments")
    await subscriber(env, "ben")
    url = f"/v1/subscribers/ben/preferences/{wf_id}"

    off = await env.http.patch(url, json={"enabled": False})
    assert off.status_code == 200, off.text
    assert off.json()["data"]["preference"]["enabled"] is False
    assert off.json()["data"]["preference"]["channels"] == {"in_app": True, "email": True}

    email_off = await env.http.patch(
        "/v1/subscribers/ben/preferences/comments", json={"channel": {"type": "email", "enabled": False}}
    )
    pref = email_off.json()["data"]["preference"]
    assert pref["channels"] == {"in_app": True, "email": False} and pref["enabled"] is False
    assert {"channel": "email", "source": "subscriber"} in pref["overrides"]

    unused = await env.http.patch(url, json={"channel": {"type": "sms", "enabled": False}})
    assert unused.json()["data"]["preference"]["channels"] == {"in_app": True, "email": False}

    listed = by_identifier((await env.http.get("/v1/subscribers/ben/preferences")).json()["data"])
    assert listed["comments"]["preference"] == pref | {"enabled": False}

    bad = await env.http.patch(url, json={"channel": {"type": "email", "enabled": ""}})
    assert bad.status_code == 400 and bad.json()["message"] == ["channel.enabled must be a boolean value"]
    bad_type = await env.http.patch(url, json={"channel": {"type": "pigeon", "enabled": True}})
    assert bad_type.status_code == 400
    assert bad_type.json()["message"] == [
        "channel.type must be one of the following values: in_app, email, sms, chat, push"
    ]
    empty = await env.http.patch(url, json={})
    assert empty.status_code == 400
    assert empty.json()["message"] == "In order to make an update you need to provider channel or enabled"

    unknown = await env.http.patch(
        "/v1/subscribers/ben/preferences/000000000000000000000000", json={"enabled": True}
    )
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "Template with id 000000000000000000000000 is not found"
    nobody = await env.http.patch("/v1/subscribers/nobody/preferences/comments", json={"enabled": True})
    assert nobody.status_code == 404 and nobody.json()["message"] == "Subscriber not found"


async def test_global_preference(env: Env) -> None:
    await subscriber(env, "cat")
    initial = await env.http.get("/v1/subscribers/cat/preferences/global")
    assert initial.json() == {
        "data": [
            {
                "preference": {
                    "enabled": True,
                    "channels": dict.fromkeys(("in_app", "email", "sms", "chat", "push"), True),
                }
            }
        ]
    }
    first = await env.http.patch(
        "/v1/subscribers/cat/preferences",
        json={"enabled": True, "preferences": [{"type": "email", "enabled": True}]},
    )
    assert first.status_code == 200, first.text
    assert first.json()["data"]["preference"]["channels"] == dict.fromkeys(
        ("in_app", "email", "sms", "chat", "push"), True
    )
    second = await env.http.patch(
        "/v1/subscribers/cat/preferences",
        json={
            "preferences": [
                {"type": "push", "enabled": True},
                {"type": "in_app", "enabled": False},
                {"type": "sms", "enabled": True},
            ]
        },
    )
    channels = second.json()["data"]["preference"]["channels"]
    assert channels["in_app"] is False and all(v for k, v in channels.items() if k != "in_app")
    bad = await env.http.patch(
        "/v1/subscribers/cat/preferences", json={"preferences": [{"type": "email", "enabled": "no"}]}
    )
    assert bad.status_code == 400 and bad.json()["message"] == [
        "preferences.0.enabled must be a boolean value"
    ]
    missing = await env.http.get("/v1/subscribers/nobody/preferences/global")
    assert missing.status_code == 400 and "not found" in missing.json()["message"]


async def details(env: Env, tx: str) -> list[str]:
    return [
        r[0] for r in await env.sql("select detail from execution_details where transaction_id = :tx", tx=tx)
    ]


async def test_workflow_level_off_filters_that_channel(env: Env, stack: Stack) -> None:
    await add_workflow(stack, env, "comments")
    await subscriber(env, "dora", "dora@example.com")
    await env.http.patch(
        "/v1/subscribers/dora/preferences/comments", json={"channel": {"type": "email", "enabled": False}}
    )
    resp = await env.trigger("comments", "dora", transactionId="tx-pref-1")
    assert resp.status_code == 201, resp.text
    await env.settle("tx-pref-1")
    assert (await env.feed("dora"))["totalCount"] == 1
    assert stack.mailbox.to("dora@example.com") == []
    assert "Step filtered by subscriber workflow preferences" in await details(env, "tx-pref-1")

    await env.http.patch("/v1/subscribers/dora/preferences/comments", json={"enabled": False})
    await env.trigger("comments", "dora", transactionId="tx-pref-2")
    await env.settle("tx-pref-2")
    assert (await env.feed("dora"))["totalCount"] == 1  # nothing new: the whole workflow is off
    assert (await details(env, "tx-pref-2")).count("Step filtered by subscriber workflow preferences") == 2


async def test_global_off_filters_everything_but_critical(env: Env, stack: Stack) -> None:
    await add_workflow(stack, env, "comments")
    await add_workflow(stack, env, "security-alert", critical=True)
    await subscriber(env, "eve", "eve@example.com")
    await env.http.patch("/v1/subscribers/eve/preferences", json={"enabled": False})

    await env.trigger("comments", "eve", transactionId="tx-glob-1")
    await env.settle("tx-glob-1")
    assert (await env.feed("eve"))["totalCount"] == 0
    assert stack.mailbox.to("eve@example.com") == []
    assert (await details(env, "tx-glob-1")).count("Step filtered by subscriber global preferences") == 2

    await env.http.patch("/v1/subscribers/eve/preferences/security-alert", json={"enabled": False})
    await env.trigger("security-alert", "eve", transactionId="tx-crit-1")
    await env.settle("tx-crit-1")
    assert (await env.feed("eve"))["totalCount"] == 1
    await stack.mailbox.wait_for(1, "eve@example.com")


async def test_global_channel_off_and_code_workflow(env: Env, stack: Stack) -> None:
    await subscriber(env, "finn", "finn@example.com")
    await env.http.patch(
        "/v1/subscribers/finn/preferences", json={"preferences": [{"type": "in_app", "enabled": False}]}
    )
    await env.trigger("welcome", "finn", {"name": "Finn"}, transactionId="tx-code-1")
    await env.settle("tx-code-1")
    assert (await env.feed("finn"))["totalCount"] == 0
    await stack.mailbox.wait_for(1, "finn@example.com")
    assert "Step filtered by subscriber global preferences" in await details(env, "tx-code-1")


async def test_workflow_default_off_until_the_subscriber_enables_it(env: Env, stack: Stack) -> None:
    await add_workflow(
        stack,
        env,
        "digesty",
        preference_settings={"in_app": True, "email": False, "sms": True, "chat": True, "push": True},
    )
    await subscriber(env, "gus", "gus@example.com")
    prefs = by_identifier((await env.http.get("/v1/subscribers/gus/preferences")).json()["data"])
    assert prefs["digesty"]["preference"]["channels"] == {"in_app": True, "email": False}
    await env.trigger("digesty", "gus", transactionId="tx-def-1")
    await env.settle("tx-def-1")
    assert stack.mailbox.to("gus@example.com") == []
    assert (await env.feed("gus"))["totalCount"] == 1

    await env.http.patch(
        "/v1/subscribers/gus/preferences/digesty", json={"channel": {"type": "email", "enabled": True}}
    )
    await env.trigger("digesty", "gus", transactionId="tx-def-2")
    await env.settle("tx-def-2")
    await stack.mailbox.wait_for(1, "gus@example.com")
