"""The step engine end to end: code and REST workflows on one engine, custom steps, skip, stop-on-fail."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import catalog_fixtures
from tests.support import Env
from workflows.dsl import DuplicateStepId, StepBuilder, workflow


async def details(env: Env, tx: str) -> list[tuple[str | None, str, str, Any]]:
    """(external subscriber id, step id, detail, raw) for every execution detail of ``tx``."""
    rows = await env.sql(
        "select s.subscriber_id, d.step_id, d.detail, d.raw from execution_details d "
        "left join subscribers s on s.id = d.subscriber_id where d.transaction_id = :tx order by d.created_at",
        tx=tx,
    )
    return [(r[0], r[1], r[2], json.loads(r[3]) if isinstance(r[3], str) else r[3]) for r in rows]


def rest_twin() -> dict[str, Any]:
    """The REST twin of ``test-twin``: the same two steps as Novu step JSON."""
    return {
        "name": "Rest twin",
        "notificationGroup": {"name": "General"},
        "active": True,
        "steps": [
            {
                "name": "notice",
                "filters": catalog_fixtures.TWIN_CONDITIONS,
                "template": {"type": "in_app", "content": catalog_fixtures.TWIN_IN_APP},
            },
            {
                "name": "mail",
                "template": {
                    "type": "email",
                    "subject": catalog_fixtures.TWIN_SUBJECT,
                    "content": catalog_fixtures.TWIN_EMAIL,
                },
            },
        ],
    }


async def test_code_and_rest_workflows_deliver_the_same_messages(env: Env) -> None:
    await catalog_fixtures.add_to(env, "test-twin")
    created = await env.http.post("/v1/workflows", json=rest_twin())
    assert created.status_code == 201, created.text
    rest_id = created.json()["data"]["triggers"][0]["identifier"]
    payload = {"title": "report", "urgent": True, "items": [{"name": "a"}, {"name": "b"}]}
    outputs = []
    for name, sub in (("test-twin", "code-sub"), (rest_id, "rest-sub")):
        email = f"{sub}@example.com"
        resp = await env.trigger(
            name,
            {"subscriberId": sub, "firstName": "Ada", "email": email},
            payload,
            transactionId=f"tx-{sub}",
        )
        assert resp.status_code == 201 and resp.json()["data"]["status"] == "processed", resp.text
        await env.settle(f"tx-{sub}")
        feed = await env.feed(sub)
        mail = (await env.stack.mailbox.wait_for(1, email))[0]
        outputs.append(
            (
                [m["content"] for m in feed["data"]],
                mail["Subject"],
                mail.get_body(("html",)).get_content().strip(),
            )
        )
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == ["Hi Ada, REPORT (urgent)"]
    assert outputs[0][1] == "report for Ada"
    assert "0:a 1:b" in outputs[0][2]


async def test_conditions_filter_code_and_rest_steps_alike(env: Env) -> None:
    await catalog_fixtures.add_to(env, "test-twin")
    created = await env.http.post("/v1/workflows", json=rest_twin())
    rest_id = created.json()["data"]["triggers"][0]["identifier"]
    for name, sub in (("test-twin", "c1"), (rest_id, "r1")):
        await env.trigger(name, sub, {"title": "skip me"}, transactionId=f"tx-skip-{sub}")
        await env.settle(f"tx-skip-{sub}")
        assert (await env.feed(sub))["data"] == []
        rows = await details(env, f"tx-skip-{sub}")
        filtered = [r for r in rows if r[2] == "Step was filtered based on steps filters"]
        assert len(filtered) == 1 and filtered[0][0] == sub
        assert filtered[0][3]["filter"]["passed"] is False
        assert filtered[0][3]["filter"]["conditions"][0]["passed"] is False


async def test_custom_step_result_reaches_later_steps_and_skip_is_recorded(env: Env) -> None:
    await catalog_fixtures.add_to(env, "test-custom")
    resp = await env.trigger("test-custom", "vip-user", {"user": "vip"}, transactionId="tx-custom-1")
    assert resp.status_code == 201, resp.text
    await env.settle("tx-custom-1")
    contents = sorted(m["content"] for m in (await env.feed("vip-user"))["data"])
    # The plan came from the custom activity; "skipped-notice" was skipped; the broken step did not stop
    # the chain (should_stop_on_fail is off), so the last step still ran.
    assert contents == ["Your plan: pro (5 seats)", "after the broken step"]
    rows = await details(env, "tx-custom-1")
    skipped = [r for r in rows if r[1] == "skipped-notice"]
    assert [(r[0], r[2], r[3]) for r in skipped] == [
        ("vip-user", "Step was filtered based on steps filters", {"skip": True})
    ]
    broken = [r for r in rows if r[1] == "broken"]
    assert broken and broken[0][2] == "Custom step failed"
    assert "billing system unavailable" in broken[0][3]["error"]


async def test_custom_step_failure_stops_the_chain_when_asked(env: Env) -> None:
    await catalog_fixtures.add_to(env, "test-custom")
    await env.trigger(
        "test-custom", "u2", {"user": "basic", "stop_on_fail": True}, transactionId="tx-custom-2"
    )
    await env.settle("tx-custom-2")
    contents = sorted(m["content"] for m in (await env.feed("u2"))["data"])
    assert contents == ["Your plan: free (5 seats)", "never sent"]


async def test_code_payload_is_validated_against_its_model(env: Env) -> None:
    await catalog_fixtures.add_to(env, "test-custom")
    resp = await env.trigger("test-custom", "u3", {"stop_on_fail": "not-a-bool"})
    assert resp.status_code == 400
    body = resp.json()
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert body["message"] == [
        "payload.user should not be null or undefined",
        "payload.stop_on_fail must be a boolean value",
    ]
    welcome = await env.trigger("welcome", "u3", {})
    assert welcome.status_code == 400
    assert welcome.json()["message"] == ["payload.name should not be null or undefined"]


async def test_should_stop_on_fail_stops_only_the_failed_subscribers(env: Env) -> None:
    broken_for_bad = "{% if subscriber.subscriberId == 'bad' %}{{ ''.__class__ }}{% endif %}Hello"
    body = {
        "name": "Stops on fail",
        "notificationGroup": {"name": "General"},
        "active": True,
        "steps": [
            {"shouldStopOnFail": True, "template": {"type": "in_app", "content": broken_for_bad}},
            {"template": {"type": "in_app", "content": "Second"}},
        ],
    }
    created = await env.http.post("/v1/workflows", json=body)
    identifier = created.json()["data"]["triggers"][0]["identifier"]
    await env.trigger(identifier, ["good", "bad"], {}, transactionId="tx-stop")
    await env.settle("tx-stop")
    assert sorted(m["content"] for m in (await env.feed("good"))["data"]) == ["Hello", "Second"]
    assert (await env.feed("bad"))["data"] == []
    failed = [r for r in await details(env, "tx-stop") if r[2] == "Message content could not be generated"]
    assert [r[0] for r in failed] == ["bad"]
    assert "SecurityError" in failed[0][3]["error"]


async def test_duplicate_step_ids_are_refused() -> None:
    @workflow("test-duplicate-ids", listed=False)
    async def duplicate(step: StepBuilder[Any], payload: Any) -> None:
        await step.in_app("same", body="a")
        await step.in_app("same", body="b")

    from workflows.dsl import REGISTRY

    try:
        with pytest.raises(DuplicateStepId):
            await REGISTRY["test-duplicate-ids"].outline()
    finally:
        REGISTRY.pop("test-duplicate-ids")


async def test_catalog_comment_digest_outline() -> None:
    from workflows.catalog import code_workflow

    entry = code_workflow("comment-digest")
    assert entry is not None
    outline = await entry.outline()
    assert [(s.step_id, s.type) for s in outline] == [
        ("new-comment", "in_app"),
        ("collect", "digest"),
        ("summary", "email"),
    ]


async def test_code_variants_are_typed_like_rest_ones() -> None:
    @workflow("test-variants", listed=False)
    async def with_variants(step: StepBuilder[Any], payload: Any) -> None:
        await step.sms(
            "text",
            body="Hello",
            variants=[
                {
                    "name": "de",
                    "conditions": [{"on": "subscriber", "field": "locale", "value": "de"}],
                    "body": "Hallo",
                }
            ],
        )

    from workflows.dsl import REGISTRY

    try:
        (spec,) = await REGISTRY["test-variants"].outline()
    finally:
        REGISTRY.pop("test-variants")
    (variant,) = spec.variants
    assert variant.name == "de" and variant.content == "Hallo" and variant.variant_id is None
    assert variant.filters == [{"on": "subscriber", "field": "locale", "value": "de"}]


async def test_rest_step_ids_must_be_unique(env: Env) -> None:
    steps = [{"uuid": "same", "template": {"type": "in_app", "content": "a"}}] * 2
    resp = await env.http.post(
        "/v1/workflows", json={"name": "Dup", "notificationGroup": {"name": "General"}, "steps": steps}
    )
    assert resp.status_code == 400
    assert resp.json()["message"] == "Step ids (uuid) must be unique within a workflow"


async def test_catalog_comment_digest_validates_its_payload(env: Env) -> None:
    resp = await env.trigger("comment-digest", "author", {"post_id": "p1", "comment": "nice"})
    assert resp.status_code == 400
    assert resp.json()["message"] == [
        "payload.post_title should not be null or undefined",
        "payload.author should not be null or undefined",
    ]
    listed = (await env.http.get("/v1/workflows/comment-digest")).json()["data"]
    assert listed["origin"] == "code" and listed["tags"] == ["social"]
    assert [s["template"]["type"] for s in listed["steps"]] == ["in_app", "digest", "email"]
