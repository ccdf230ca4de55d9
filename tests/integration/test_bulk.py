"""``POST /v1/events/trigger/bulk``: up to 100 events, results in request order, per-item errors."""

from __future__ import annotations

from tests.support import Env


async def test_more_than_100_events_is_rejected(env: Env) -> None:
    events = [{"name": "welcome", "to": "a", "payload": {"name": "A"}}] * 101
    resp = await env.http.post("/v1/events/trigger/bulk", json={"events": events})
    assert resp.status_code == 400
    assert resp.json()["message"][0] == "events must contain no more than 100 elements"
    empty = await env.http.post("/v1/events/trigger/bulk", json={"events": []})
    assert empty.status_code == 400


async def test_results_in_order_with_item_errors(env: Env) -> None:
    events = [
        {"name": "no-such-workflow", "to": "a", "payload": {}},
        {"name": "welcome", "to": "b1", "payload": {"name": "B"}, "transactionId": "bulk-b"},
        {"name": "welcome", "payload": {"name": "C"}},
        {"name": "welcome", "to": "d1", "payload": {"name": "D"}, "transactionId": "bulk-d"},
        "not an object",
    ]
    resp = await env.http.post("/v1/events/trigger/bulk", json={"events": events})
    assert resp.status_code == 201, resp.text
    data = resp.json()["data"]
    assert len(data) == 5
    assert data[0] == {"acknowledged": True, "status": "error", "error": ["workflow_not_found"]}
    assert data[1] == {"acknowledged": True, "status": "processed", "transactionId": "bulk-b"}
    assert data[2]["status"] == "error" and "to should not be null or undefined" in data[2]["error"]
    assert data[3] == {"acknowledged": True, "status": "processed", "transactionId": "bulk-d"}
    assert data[4]["status"] == "error" and data[4]["acknowledged"] is True
    await env.settle("bulk-b")
    await env.settle("bulk-d")
    assert (await env.feed("b1"))["totalCount"] == 1
    assert (await env.feed("d1"))["totalCount"] == 1
