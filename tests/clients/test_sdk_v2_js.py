"""The v2 routes through the official ``@novu/api`` (TypeScript, run under Node) over HTTP.

``tests/clients/js_api/drive_v2.mjs`` makes the calls with the SDK (retries off) and prints what the SDK
parsed — its zod models reject any response that does not match Novu's schema — and this test asserts
on that and on the rows the v1 routes see.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_preferences import add_workflow
from tests.support import Stack

JS_DIR = Path(__file__).parent / "js_api"


def node_ready() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (JS_DIR / "node_modules" / "@novu" / "api").is_dir():
        pytest.fail("@novu/api is not installed: run `npm ci` in tests/clients/js_api (.ci/run does)")


async def drive(
    live_api: str, key: str, other_key: str, scenario: str, subscriber: str = ""
) -> dict[str, Any]:
    node_ready()
    proc = await asyncio.create_subprocess_exec(
        "node",
        "drive_v2.mjs",
        cwd=JS_DIR,
        env={
            **os.environ,
            "TIDINGS_URL": live_api,
            "TIDINGS_KEY": key,
            "TIDINGS_OTHER_KEY": other_key,
            "TIDINGS_SCENARIO": scenario,
            "TIDINGS_SUBSCRIBER": subscriber,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, stderr.decode()
    return json.loads(stdout.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


def value(result: dict[str, Any], name: str) -> Any:
    outcome = result[name]
    assert outcome["ok"], f"{name}: {outcome}"
    return outcome["value"]


def failure(result: dict[str, Any], name: str, status: int) -> dict[str, Any]:
    outcome = result[name]
    assert not outcome["ok"], f"{name} should have failed: {outcome}"
    assert outcome["status"] == status, f"{name}: {outcome}"
    return outcome  # type: ignore[no-any-return]


async def test_subscribers_topics_preferences(stack: Stack, live_api: str) -> None:
    env, other = await stack.new_env(), await stack.new_env()
    await add_workflow(stack, env, "security-alert", critical=True)
    out = await drive(live_api, env.key, other.key, "subscribers,topics,preferences")

    # Subscribers
    ada = value(out, "create")
    assert (ada["subscriberId"], ada["timezone"], ada["data"]) == ("js-ada", "Europe/London", {"plan": "pro"})
    conflict = failure(out, "createConflict", 409)
    assert conflict["error"] == "SubscriberResponseDto" and conflict["body"]["subscriberId"] == "js-ada"
    invalid = failure(out, "createInvalid", 422)
    assert invalid["error"] == "ValidationErrorDto"
    assert invalid["body"]["errors"]["general"]["messages"] == ["email must be an email"]
    assert value(out, "retrieve")["email"] == "ada@js.example"
    patched = value(out, "patch")
    assert patched["phone"] == "+15550123" and "lastName" not in patched
    assert [s["subscriberId"] for s in value(out, "searchEmail")["data"]] == ["js-s2"]
    page1, page2 = value(out, "searchPage1"), value(out, "searchPage2")
    assert [s["subscriberId"] for s in page1["data"]] == ["js-s3", "js-s2"] and page1["totalCount"] == 4
    assert [s["subscriberId"] for s in page2["data"]] == ["js-s1", "js-ada"] and page2["next"] is None
    assert [s["subscriberId"] for s in value(out, "searchAsc")["data"]] == ["js-ada", "js-s1"]
    assert failure(out, "otherRetrieve", 404)["body"]["message"] == "Subscriber: js-ada was not found"
    assert value(out, "otherSearch")["data"] == []
    assert [c["subscriberId"] for c in value(out, "bulk")["created"]] == ["js-b1", "js-b2"]
    assert value(out, "delete") == {"acknowledged": True, "status": "deleted"}
    failure(out, "deleteMissing", 404)
    v1 = (await env.http.get("/v1/subscribers/js-ada")).json()["data"]
    assert v1["phone"] == "+15550123" and "lastName" not in v1

    # Topics and subscriptions
    assert value(out, "topicCreate")["key"] == "js:news"
    assert value(out, "topicUpsert")["name"] == "Daily news"
    assert failure(out, "topicConflict", 409)["error"] == "TopicResponseDto"
    assert "Invalid topic key" in failure(out, "topicBadKey", 400)["body"]["message"]
    assert value(out, "topicGet")["name"] == "Daily news"
    assert value(out, "topicUpdate")["name"] == "Weekly news"
    assert [t["key"] for t in value(out, "topicList")["data"]] == ["js:news"]
    made = value(out, "subsCreate")
    assert made["meta"] == {"totalCount": 3, "successful": 2, "failed": 1}
    assert sorted(s["identifier"] for s in made["data"]) == ["s2-phone", "tk_js:news:si_js-s1"]
    assert failure(out, "subsOverLimit", 422)["body"]["errors"]["general"]["messages"] == [
        "Cannot subscribe more than 100 subscribers at once"
    ]
    listed = value(out, "subsList")
    assert len(listed["data"]) == 1 and listed["totalCount"] == 2 and listed["next"]
    detail = value(out, "subsGet")
    assert detail["identifier"] == "s2-phone" and detail["preferences"][0]["enabled"] is False
    assert value(out, "subsUpdate")["name"] == "Phone"
    assert [s["topic"]["key"] for s in value(out, "subscriberTopics")["data"]] == ["js:news"]
    assert [s["identifier"] for s in value(out, "subsDelete")["data"]] == ["s2-phone"]
    failure(out, "otherTopicGet", 404)
    failure(out, "otherSubsList", 404)
    assert value(out, "topicDelete") == {"acknowledged": True}
    assert failure(out, "topicGetMissing", 404)["body"]["message"] == "Topic with key js:news not found"

    # Preferences
    prefs = value(out, "prefsList")
    assert "welcome" in [w["workflow"]["identifier"] for w in prefs["workflows"]]
    assert [w["workflow"]["identifier"] for w in value(out, "prefsCritical")["workflows"]] == [
        "security-alert"
    ]
    welcome = next(
        w for w in value(out, "prefsUpdate")["workflows"] if w["workflow"]["identifier"] == "welcome"
    )
    assert welcome["channels"]["email"] is False
    assert value(out, "prefsGlobal")["global"]["channels"]["sms"] is False
    bulk = value(out, "prefsBulk")
    assert bulk[0]["workflow"]["identifier"] == "welcome" and bulk[0]["channels"]["inApp"] is False
    failure(out, "prefsMissingWorkflow", 404)
    failure(out, "otherPrefs", 404)
    v1_prefs = (await env.http.get("/v1/subscribers/js-s1/preferences")).json()["data"]
    v1_welcome = next(p for p in v1_prefs if p["template"]["triggers"][0]["identifier"] == "welcome")
    assert v1_welcome["preference"]["channels"] == {"in_app": False, "email": False}


async def test_notifications(stack: Stack, live_api: str) -> None:
    env, other = await stack.new_env(), await stack.new_env()
    resp = await env.http.post("/v1/subscribers", json={"subscriberId": "js-n"})
    assert resp.status_code == 201
    for i in range(2):
        await env.trigger("welcome", "js-n", {"name": f"J{i}"}, transactionId=f"js-n-{i}")
        await env.settle(f"js-n-{i}")
    out = await drive(live_api, env.key, other.key, "notifications", "js-n")

    listed = value(out, "notesList")
    assert [n["body"] for n in listed["data"]] == ["Welcome to Tidings, J1!", "Welcome to Tidings, J0!"]
    first, second = listed["data"][0]["id"], listed["data"][1]["id"]
    assert listed["data"][0]["to"]["subscriberId"] == "js-n" and listed["hasMore"] is False
    assert value(out, "notesPage")["hasMore"] is True
    assert [c["count"] for c in value(out, "notesCount")] == [2, 2]
    assert value(out, "notesRead")["isRead"] is True
    assert value(out, "notesUnread")["isRead"] is False
    assert value(out, "notesArchive")["isArchived"] is True
    assert [n["id"] for n in value(out, "notesArchived")["data"]] == [second]
    assert value(out, "notesUnarchive")["isArchived"] is False
    for name in (
        "notesSeen",
        "notesReadAll",
        "notesArchiveRead",
        "notesArchiveAll",
        "notesDelete",
        "notesDeleteAll",
    ):
        assert value(out, name) is None  # 204
    assert all(n["isArchived"] and n["isRead"] for n in value(out, "notesAfterArchive")["data"])
    failure(out, "notesOther", 404)
    failure(out, "notesMissing", 404)
    assert value(out, "notesEnd")["data"] == []
    assert first and (await env.feed("js-n"))["data"] == []  # the v1 feed lost the same rows


async def test_snooze_and_actions(stack: Stack, live_api: str) -> None:
    from tests.inbox_support import BUTTONS, in_app_workflow

    env, other = await stack.new_env(), await stack.new_env()
    await in_app_workflow(stack, env, cta=BUTTONS)
    resp = await env.http.post("/v1/subscribers", json={"subscriberId": "js-s"})
    assert resp.status_code == 201
    await env.trigger("comment", "js-s", {"name": "S"}, transactionId="js-s-1")
    await env.settle("js-s-1")
    out = await drive(live_api, env.key, other.key, "notificationStates", "js-s")
    first = value(out, "statesList")["data"][0]["id"]
    assert value(out, "snooze")["isSnoozed"] is True
    assert [n["id"] for n in value(out, "snoozedList")["data"]] == [first]
    assert value(out, "unsnooze")["isSnoozed"] is False
    assert value(out, "complete")["primaryAction"]["isCompleted"] is True
    assert value(out, "revert")["primaryAction"]["isCompleted"] is False
    failure(out, "completeOther", 404)
