"""``/v2/subscribers/{id}/preferences`` through the real novu-py 3.19: the same rows v1 and delivery use."""

from __future__ import annotations

import pytest
from novu_py import models

from tests.clients.test_sdk_v2_subscribers import call, invalid, novu_v2
from tests.integration.test_preferences import add_workflow
from tests.support import Stack


async def test_list_update_bulk(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    await add_workflow(stack, env, "comments")
    await add_workflow(stack, env, "security-alert", critical=True)
    await call(
        novu.subscribers.create,
        create_subscriber_request_dto={"subscriber_id": "pat", "email": "pat@example.com"},
    )

    prefs = (await call(novu.subscribers.preferences.list, subscriber_id="pat")).result
    names = [w.workflow.identifier for w in prefs.workflows]
    assert "comments" in names and "welcome" in names and "security-alert" not in names  # nonCritical default
    assert prefs.global_.enabled is True and prefs.global_.channels.email is True
    critical = (
        await call(novu.subscribers.preferences.list, subscriber_id="pat", criticality="critical")
    ).result
    assert [w.workflow.identifier for w in critical.workflows] == ["security-alert"]
    everything = (
        await call(novu.subscribers.preferences.list, subscriber_id="pat", criticality="all")
    ).result
    assert len(everything.workflows) == len(prefs.workflows) + 1

    # Workflow level: email off for "comments" only.
    updated = (
        await call(
            novu.subscribers.preferences.update,
            subscriber_id="pat",
            patch_subscriber_preferences_dto={"workflow_id": "comments", "channels": {"email": False}},
        )
    ).result
    comments = next(w for w in updated.workflows if w.workflow.identifier == "comments")
    assert comments.channels.email is False and comments.channels.in_app is True
    assert {(o.channel, o.source) for o in comments.overrides} >= {("email", "subscriber")}
    # v1 sees the same preference.
    v1 = (await env.http.get("/v1/subscribers/pat/preferences")).json()["data"]
    v1_comments = next(p for p in v1 if p["template"]["triggers"][0]["identifier"] == "comments")
    assert v1_comments["preference"]["channels"]["email"] is False

    # Global level: sms off.
    glob = (
        await call(
            novu.subscribers.preferences.update,
            subscriber_id="pat",
            patch_subscriber_preferences_dto={"channels": {"sms": False}},
        )
    ).result
    assert glob.global_.channels.sms is False and glob.global_.channels.email is True
    v1_global = (await env.http.get("/v1/subscribers/pat/preferences/global")).json()["data"][0]
    assert v1_global["preference"]["channels"]["sms"] is False

    bulk = (
        await call(
            novu.subscribers.preferences.bulk_update,
            subscriber_id="pat",
            bulk_update_subscriber_preferences_dto={
                "preferences": [
                    {"workflow_id": "comments", "channels": {"email": True, "in_app": False}},
                    {"workflow_id": "welcome", "channels": {"email": False}},
                ]
            },
        )
    ).result
    assert [(p.workflow.identifier, p.channels.email, p.channels.in_app) for p in bulk if p.workflow] == [
        ("comments", True, False),
        ("welcome", False, True),
    ]
    assert all(p.level == "template" for p in bulk)

    # Delivery honours what v2 wrote: welcome's email is off for pat, in-app still arrives.
    resp = await env.trigger("welcome", "pat", {"name": "Pat"}, transactionId="v2-pref-tx")
    assert resp.status_code == 201
    await env.settle("v2-pref-tx")
    assert len((await env.feed("pat"))["data"]) == 1
    assert stack.mailbox.to("pat@example.com") == []


async def test_preferences_bad_input_and_isolation(stack: Stack, live_api: str) -> None:
    owner, other = await stack.new_env(), await stack.new_env()
    mine, theirs = novu_v2(live_api, owner.key), novu_v2(live_api, other.key)
    await add_workflow(stack, owner, "digest")
    await call(mine.subscribers.create, create_subscriber_request_dto={"subscriber_id": "quinn"})

    with pytest.raises(models.ErrorDto) as err:
        await call(mine.subscribers.preferences.list, subscriber_id="ghost")
    assert err.value.raw_response.status_code == 404
    assert err.value.data.message == "Subscriber with id: ghost not found"
    with pytest.raises(models.ErrorDto) as err:
        await call(
            mine.subscribers.preferences.update,
            subscriber_id="quinn",
            patch_subscriber_preferences_dto={"workflow_id": "nope", "channels": {"email": False}},
        )
    assert err.value.raw_response.status_code == 404
    with pytest.raises(models.ErrorDto) as err:
        await call(
            mine.subscribers.preferences.bulk_update,
            subscriber_id="quinn",
            bulk_update_subscriber_preferences_dto={
                "preferences": [
                    {"workflow_id": "digest", "channels": {"email": False}},
                    {"workflow_id": "nope", "channels": {"email": False}},
                ]
            },
        )
    assert err.value.raw_response.status_code == 404
    # No partial write: "digest" is still on.
    prefs = (await call(mine.subscribers.preferences.list, subscriber_id="quinn")).result
    assert next(w for w in prefs.workflows if w.workflow.identifier == "digest").channels.email is True
    too_many = {"preferences": [{"workflow_id": "digest", "channels": {"email": False}}] * 101}
    with pytest.raises(models.ValidationErrorDto) as bad:
        await call(
            mine.subscribers.preferences.bulk_update,
            subscriber_id="quinn",
            bulk_update_subscriber_preferences_dto=too_many,
        )
    assert invalid(bad.value) == ["preferences must contain no more than 100 elements"]
    resp = await owner.http.get("/v2/subscribers/quinn/preferences", params={"criticality": "some"})
    assert resp.status_code == 422

    # Another environment sees neither the subscriber nor its preferences.
    for op, kwargs in (
        (theirs.subscribers.preferences.list, {}),
        (
            theirs.subscribers.preferences.update,
            {"patch_subscriber_preferences_dto": {"channels": {"email": False}}},
        ),
        (
            theirs.subscribers.preferences.bulk_update,
            {
                "bulk_update_subscriber_preferences_dto": {
                    "preferences": [{"workflow_id": "welcome", "channels": {}}]
                }
            },
        ),
    ):
        with pytest.raises(models.ErrorDto) as err:
            await call(op, subscriber_id="quinn", **kwargs)
        assert err.value.raw_response.status_code == 404
    assert (
        await call(mine.subscribers.preferences.list, subscriber_id="quinn")
    ).result.global_.channels.email is True
