"""The in-app feed, unseen count, mark semantics, CTA actions and feeds, driven by real triggers."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.integration.test_preferences import add_workflow
from tests.support import Env, Stack


def b64(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


async def deliver(env: Env, workflow: str, sid: str, payloads: list[dict[str, Any]], prefix: str) -> None:
    """Trigger ``workflow`` once per payload, one after another (so the feed order is the trigger order)."""
    for i, payload in enumerate(payloads):
        resp = await env.trigger(workflow, sid, payload, transactionId=f"{prefix}-{i}")
        assert resp.status_code == 201, resp.text
        await env.settle(f"{prefix}-{i}")


def inbox_step(content: str = "New activity", feed_id: str | None = None, **template: Any) -> dict[str, Any]:
    return {
        "_id": "inbox",
        "active": True,
        "template": {"type": "in_app", "content": content, "_feedId": feed_id, **template},
    }


async def test_feed_pages_filters_and_errors(any_stack: Stack) -> None:
    env = await any_stack.new_env()
    await add_workflow(any_stack, env, "activity", steps=[inbox_step()])
    payloads = [{"foo": 123}, {"foo": {"bar": 123}}, {"foo": "x", "n": 1}, {"flag": True}, {"n": 2}, {"n": 3}]
    await deliver(env, "activity", "ivy", payloads, "tx-feed")

    page = await env.feed("ivy", page="0.0", limit="5.0")
    assert page["pageSize"] == 5 and page["page"] == 0 and page["hasMore"] is True
    assert page["totalCount"] == 5 and len(page["data"]) == 5
    assert page["data"][0]["payload"] == {"n": 3}  # newest first
    last = await env.feed("ivy", page=1, limit=5)
    assert last["totalCount"] == 1 and last["hasMore"] is False

    flat = await env.feed("ivy", payload=b64({"foo": 123}))
    assert [m["payload"] for m in flat["data"]] == [{"foo": 123}]
    nested = await env.feed("ivy", payload=b64({"foo": {"bar": 123}}))
    assert [m["payload"] for m in nested["data"]] == [{"foo": {"bar": 123}}]
    boolean = await env.feed("ivy", payload=b64({"flag": True}))
    assert [m["payload"] for m in boolean["data"]] == [{"flag": True}]
    assert (await env.feed("ivy", payload=b64({"foo": "nope"})))["data"] == []

    bad = await env.http.get("/v1/subscribers/ivy/notifications/feed", params={"payload": "invalid"})
    assert bad.status_code == 400
    assert bad.json()["message"] == "Invalid payload, the JSON object should be encoded to base64 string."
    unknown = await env.http.get("/v1/subscribers/ghost/notifications/feed")
    assert unknown.status_code == 400
    assert unknown.json()["message"] == (
        "Subscriber not found for this environment with the id: ghost. "
        "Make sure to create a subscriber before fetching the feed."
    )


async def test_unseen_and_mark_as(env: Env, stack: Stack) -> None:
    await add_workflow(stack, env, "activity", steps=[inbox_step()])
    await deliver(env, "activity", "jay", [{"n": i} for i in range(3)], "tx-mark")
    ids = [m["_id"] for m in (await env.feed("jay"))["data"]]

    unseen = await env.http.get("/v1/subscribers/jay/notifications/unseen", params={"limit": "100.0"})
    assert unseen.json() == {"data": {"count": 3}}
    capped = await env.http.get("/v1/subscribers/jay/notifications/unseen", params={"limit": 2})
    assert capped.json() == {"data": {"count": 2}}

    read = await env.http.post(
        "/v1/subscribers/jay/messages/mark-as", json={"messageId": ids[0], "markAs": "read"}
    )
    assert read.status_code == 201, read.text
    [msg] = read.json()["data"]
    assert msg["_id"] == ids[0] and msg["read"] is True and msg["seen"] is True
    assert msg["lastReadDate"].endswith("Z") and msg["lastSeenDate"].endswith("Z")
    unread = await env.http.post(
        "/v1/subscribers/jay/messages/mark-as", json={"messageId": [ids[0]], "markAs": "unread"}
    )
    assert unread.json()["data"][0]["read"] is False and unread.json()["data"][0]["seen"] is True
    unseen_one = await env.http.post(
        "/v1/subscribers/jay/messages/mark-as", json={"messageId": ids[0], "markAs": "unseen"}
    )
    assert unseen_one.json()["data"][0]["seen"] is False
    seen = await env.http.post(
        "/v1/subscribers/jay/messages/mark-as", json={"messageId": ids[:2], "markAs": "seen"}
    )
    assert [m["seen"] for m in seen.json()["data"]] == [True, True]

    assert (await env.http.get("/v1/subscribers/jay/notifications/unseen")).json() == {"data": {"count": 1}}
    assert (
        await env.http.get("/v1/subscribers/jay/notifications/unseen", params={"seen": "true"})
    ).json() == {"data": {"count": 2}}
    assert [m["_id"] for m in (await env.feed("jay", seen="false"))["data"]] == [ids[2]]

    legacy = await env.http.post(
        "/v1/subscribers/jay/messages/markAs",
        json={"messageId": f"{ids[1]},{ids[2]}", "mark": {"read": True}},
    )
    assert legacy.status_code == 201
    assert {m["_id"]: m["read"] for m in legacy.json()["data"]} == {ids[1]: True, ids[2]: True}
    assert [m["_id"] for m in (await env.feed("jay", read="true"))["data"]] == [ids[1], ids[2]]

    no_id = await env.http.post("/v1/subscribers/jay/messages/mark-as", json={"markAs": "read"})
    assert no_id.status_code == 400 and no_id.json()["message"] == "messageId is required"
    bad_mark = await env.http.post(
        "/v1/subscribers/jay/messages/mark-as", json={"messageId": ids[0], "markAs": "gone"}
    )
    assert bad_mark.status_code == 400
    ghost = await env.http.post(
        "/v1/subscribers/ghost/messages/mark-as", json={"messageId": ids[0], "markAs": "read"}
    )
    assert ghost.status_code == 404 and ghost.json()["message"] == "Subscriber ghost not found"
    unknown = await env.http.get("/v1/subscribers/ghost/notifications/unseen")
    assert unknown.status_code == 400
    assert unknown.json()["message"] == (
        f"Subscriber ghost is not exist in environment {env.id}, please provide a valid subscriber identifier"
    )


async def test_mark_all(env: Env, stack: Stack) -> None:
    await add_workflow(stack, env, "activity", steps=[inbox_step()])
    await deliver(env, "activity", "kim", [{"n": i} for i in range(5)], "tx-all")
    assert (await env.feed("kim"))["totalCount"] == 5
    first = await env.http.post("/v1/subscribers/kim/messages/mark-all", json={"markAs": "read"})
    assert first.status_code == 201 and first.json() == {"data": 5}
    assert all(m["read"] and m["seen"] for m in (await env.feed("kim"))["data"])
    again = await env.http.post("/v1/subscribers/kim/messages/mark-all", json={"markAs": "read"})
    assert again.json() == {"data": 0}
    unseen = await env.http.post("/v1/subscribers/kim/messages/mark-all", json={"markAs": "unseen"})
    assert unseen.json() == {"data": 5}
    ghost = await env.http.post("/v1/subscribers/ghost/messages/mark-all", json={"markAs": "read"})
    assert ghost.status_code == 404
    assert ghost.json()["message"] == (
        f"Subscriber ghost does not exist in environment {env.id}, please provide a valid subscriber identifier"
    )


async def test_message_actions(env: Env, stack: Stack) -> None:
    cta = {"type": "redirect", "data": {}, "action": {"buttons": [{"type": "primary", "content": "Accept"}]}}
    await add_workflow(stack, env, "invite", steps=[inbox_step("Join us", cta=cta)])
    await deliver(env, "invite", "lee", [{}], "tx-cta")
    [msg] = (await env.feed("lee"))["data"]
    resp = await env.http.post(
        f"/v1/subscribers/lee/messages/{msg['_id']}/actions/primary",
        json={"status": "done", "payload": {"ok": 1}},
    )
    assert resp.status_code == 201, resp.text
    action = resp.json()["data"]["cta"]["action"]
    assert action["status"] == "done" and action["result"] == {"type": "primary", "payload": {"ok": 1}}
    assert action["buttons"][0]["content"] == "Accept"
    assert (await env.feed("lee"))["data"][0]["cta"]["action"]["status"] == "done"

    missing = await env.http.post(
        "/v1/subscribers/lee/messages/000000000000000000000000/actions/primary", json={"status": "done"}
    )
    assert (
        missing.status_code == 404
        and missing.json()["message"] == "Message 000000000000000000000000 not found"
    )
    bad_status = await env.http.post(
        f"/v1/subscribers/lee/messages/{msg['_id']}/actions/primary", json={"status": "x"}
    )
    assert bad_status.status_code == 400
    bad_type = await env.http.post(
        f"/v1/subscribers/lee/messages/{msg['_id']}/actions/tertiary", json={"status": "done"}
    )
    assert bad_type.status_code == 400


async def test_feeds_api_and_feed_identifier_filters(env: Env, stack: Stack) -> None:
    created = await env.http.post("/v1/feeds", json={"name": "news"})
    assert created.status_code == 201, created.text
    news = created.json()["data"]
    assert news["name"] == "news" and news["identifier"] == "news" and news["_environmentId"] == env.id
    dup = await env.http.post("/v1/feeds", json={"name": "news"})
    assert dup.status_code == 409 and dup.json()["message"] == "Feed with identifier: news already exists"
    alerts = (await env.http.post("/v1/feeds", json={"name": "alerts"})).json()["data"]
    assert [f["identifier"] for f in (await env.http.get("/v1/feeds")).json()["data"]] == ["news", "alerts"]

    await add_workflow(stack, env, "news-flash", steps=[inbox_step("Breaking", feed_id=news["_id"])])
    await add_workflow(stack, env, "alarm", steps=[inbox_step("Alarm", feed_id=alerts["_id"])])
    await deliver(env, "news-flash", "max", [{}, {}], "tx-news")
    await deliver(env, "alarm", "max", [{}], "tx-alarm")

    only_news = await env.feed("max", feedIdentifier="news")
    assert [m["content"] for m in only_news["data"]] == ["Breaking", "Breaking"]
    both = await env.http.get(
        "/v1/subscribers/max/notifications/feed",
        params=[("feedIdentifier", "news"), ("feedIdentifier", "alerts")],
    )
    assert both.json()["totalCount"] == 3
    count = await env.http.get(
        "/v1/subscribers/max/notifications/unseen", params={"feedIdentifier": "alerts"}
    )
    assert count.json() == {"data": {"count": 1}}
    marked = await env.http.post(
        "/v1/subscribers/max/messages/mark-all", json={"markAs": "seen", "feedIdentifier": "news"}
    )
    assert marked.json() == {"data": 2}
    assert (await env.http.get("/v1/subscribers/max/notifications/unseen")).json() == {"data": {"count": 1}}

    remaining = await env.http.delete(f"/v1/feeds/{news['_id']}")
    assert remaining.status_code == 200
    assert [f["identifier"] for f in remaining.json()["data"]] == ["alerts"]
    other = await stack.new_env()
    assert (await other.http.get("/v1/feeds")).json() == {"data": []}
