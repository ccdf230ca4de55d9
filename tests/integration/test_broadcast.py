"""``POST /v1/events/trigger/broadcast``: every subscriber of the environment, and only of it."""

from __future__ import annotations

from tests.support import Env


async def test_broadcast_reaches_every_subscriber(env: Env) -> None:
    other = await env.stack.new_env()
    for sid in ("b1", "b2", "b3"):
        assert (await env.http.post("/v1/subscribers", json={"subscriberId": sid})).status_code == 201
    assert (await other.http.post("/v1/subscribers", json={"subscriberId": "outsider"})).status_code == 201

    resp = await env.http.post(
        "/v1/events/trigger/broadcast",
        json={"name": "welcome", "payload": {"name": "All"}, "transactionId": "bc-1", "actor": "b1"},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"data": {"acknowledged": True, "status": "processed", "transactionId": "bc-1"}}
    result = await env.settle("bc-1")
    assert result["subscribers"] == 3  # the actor is not excluded from a broadcast
    for sid in ("b1", "b2", "b3"):
        assert (await env.feed(sid))["totalCount"] == 1
    outsider = await other.sql("select count(*) from messages where environment_id = :e", e=other.id)
    assert outsider[0][0] == 0


async def test_broadcast_validation(env: Env) -> None:
    missing = await env.http.post("/v1/events/trigger/broadcast", json={"name": "welcome"})
    assert missing.status_code == 400
    assert "payload should not be null or undefined" in missing.json()["message"]
    unknown = await env.http.post("/v1/events/trigger/broadcast", json={"name": "nope", "payload": {}})
    assert unknown.status_code == 422 and unknown.json()["message"] == "workflow_not_found"
