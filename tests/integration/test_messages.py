"""``/v1/messages``, ``/v1/notifications`` and ``/v1/execution-details``: what a trigger left behind."""

from __future__ import annotations

from tests.support import Env


async def deliver(env: Env, tx: str, *subscribers: str) -> None:
    to = [{"subscriberId": s, "email": f"{s}@example.com"} for s in subscribers]
    resp = await env.trigger("welcome", to, {"name": "M"}, transactionId=tx)
    assert resp.status_code == 201, resp.text
    await env.settle(tx)


async def test_list_filters_and_limits(env: Env) -> None:
    await deliver(env, "m-1", "ann", "ben")
    await deliver(env, "m-2", "ann")

    everything = (await env.http.get("/v1/messages", params={"limit": 100})).json()
    assert everything["totalCount"] == 6 and everything["hasMore"] is False  # in-app + email each
    assert set(everything) == {"page", "totalCount", "hasMore", "pageSize", "data"}
    stamps = [m["createdAt"] for m in everything["data"]]
    assert stamps == sorted(stamps, reverse=True)

    in_app = (await env.http.get("/v1/messages", params={"channel": "in_app", "subscriberId": "ann"})).json()
    assert in_app["totalCount"] == 2
    assert {m["transactionId"] for m in in_app["data"]} == {"m-1", "m-2"}
    assert all(m["subscriber"]["subscriberId"] == "ann" for m in in_app["data"])

    by_tx = await env.http.get("/v1/messages", params=[("transactionId", "m-2"), ("transactionId", "m-1")])
    assert by_tx.json()["totalCount"] == 6
    one_tx = (await env.http.get("/v1/messages", params={"transactionId": "m-2"})).json()
    assert one_tx["totalCount"] == 2

    paged = (await env.http.get("/v1/messages", params={"limit": "4.0", "page": 1})).json()
    assert paged["pageSize"] == 4 and len(paged["data"]) == 2 and paged["hasMore"] is False
    first = (await env.http.get("/v1/messages", params={"limit": 4})).json()
    assert first["hasMore"] is True

    too_many = await env.http.get("/v1/messages", params={"limit": 1001})
    assert too_many.status_code == 400 and too_many.json()["message"] == "Limit can not be larger then 1000"
    unknown = await env.http.get("/v1/messages", params={"subscriberId": "nobody"})
    assert unknown.status_code == 404


async def test_delete_one_and_by_transaction(env: Env) -> None:
    await deliver(env, "d-1", "cat")
    await deliver(env, "d-2", "cat")
    feed = await env.feed("cat")
    assert feed["totalCount"] == 2
    message_id = feed["data"][0]["_id"]

    resp = await env.http.delete(f"/v1/messages/{message_id}")
    assert resp.status_code == 200
    assert resp.json() == {"data": {"acknowledged": True, "status": "deleted"}}
    assert (await env.feed("cat"))["totalCount"] == 1
    again = await env.http.delete(f"/v1/messages/{message_id}")
    assert again.status_code == 404 and again.json()["message"] == f"Message with id {message_id} not found"

    other = await env.stack.new_env()
    remaining = (await env.feed("cat"))["data"][0]
    assert (await other.http.delete(f"/v1/messages/{remaining['_id']}")).status_code == 404

    tx = remaining["transactionId"]
    resp = await env.http.delete(f"/v1/messages/transaction/{tx}", params={"channel": "email"})
    assert resp.status_code == 204
    left = (await env.http.get("/v1/messages", params={"transactionId": tx})).json()
    assert [m["channel"] for m in left["data"]] == ["in_app"]
    assert (await env.http.delete(f"/v1/messages/transaction/{tx}")).status_code == 204
    assert (await env.http.get("/v1/messages", params={"transactionId": tx})).json()["totalCount"] == 0


async def test_activity_feed_and_execution_details(env: Env) -> None:
    await deliver(env, "a-1", "dan", "eve")
    feed = await env.http.get("/v1/notifications", params={"transactionId": "a-1"})
    assert feed.status_code == 200, feed.text
    body = feed.json()
    assert body["pageSize"] == 10 and body["hasMore"] is False and len(body["data"]) == 2
    item = next(n for n in body["data"] if n["subscriber"]["subscriberId"] == "dan")
    assert item["transactionId"] == "a-1" and item["template"]["name"]
    assert {j["type"] for j in item["jobs"]} == {"in_app", "email"}

    only_dan = (await env.http.get("/v1/notifications", params={"subscriberIds": "dan"})).json()
    assert [n["subscriber"]["subscriberId"] for n in only_dan["data"]] == ["dan"]
    nobody = (await env.http.get("/v1/notifications", params={"subscriberIds": "zed"})).json()
    assert nobody == {"page": 0, "hasMore": False, "pageSize": 10, "data": []}

    details = await env.http.get(
        "/v1/execution-details", params={"notificationId": item["_id"], "subscriberId": "dan"}
    )
    assert details.status_code == 200, details.text
    texts = [d["detail"] for d in details.json()["data"]]
    assert "Message created" in texts
    missing = await env.http.get(
        "/v1/execution-details", params={"notificationId": item["_id"], "subscriberId": "zed"}
    )
    assert missing.status_code == 404 and missing.json()["message"] == "Subscriber not found for id zed"
    bad = await env.http.get("/v1/execution-details", params={"subscriberId": "dan"})
    assert bad.status_code == 400
