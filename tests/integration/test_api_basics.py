"""Novu's wire conventions: auth errors, validation errors, envelopes, limits, isolation."""

from __future__ import annotations

import httpx

from tests.support import Env, Stack


def assert_error(resp: httpx.Response, status: int, message: object, path: str) -> dict:
    body = resp.json()
    assert resp.status_code == status, resp.text
    assert body["statusCode"] == status
    assert body["message"] == message
    assert body["path"] == path
    assert body["timestamp"].endswith("Z")
    assert "Traceback" not in resp.text
    return body


async def test_auth_errors_match_novu(stack: Stack) -> None:
    anonymous = stack.http_client()
    path = "/v1/subscribers/someone"
    missing = assert_error(await anonymous.get(path), 401, "Missing authorization header", path)
    assert missing["error"] == "Unauthorized"
    assert_error(
        await anonymous.get(path, headers={"Authorization": "Invalid xyz"}),
        401,
        'Invalid authentication scheme: "Invalid"',
        path,
    )
    assert_error(await anonymous.get(path, headers={"Authorization": "ApiKey "}), 401, "Unauthorized", path)
    assert_error(
        await anonymous.get(path, headers={"Authorization": "ApiKey invalid_key"}),
        401,
        "API Key not found",
        path,
    )


async def test_keys_are_stored_hashed(env: Env) -> None:
    rows = await env.sql("select key_hash, hint from api_keys where environment_id = :e", e=env.id)
    assert len(rows) == 1
    key_hash, hint = rows[0]
    assert env.key not in key_hash and len(key_hash) == 64
    assert hint == env.key[-4:]


async def test_validation_errors_are_novu_400s_and_store_nothing(env: Env) -> None:
    path = "/v1/events/trigger"
    resp = await env.http.post(
        path, content=b'{"name": "welcome", "to": ', headers={"Content-Type": "application/json"}
    )
    body = assert_error(resp, 400, resp.json()["message"], path)
    assert isinstance(body["message"], str) and "JSON" in body["message"]

    resp = await env.http.post(path, json={"to": "sub-1", "payload": {"name": "x"}})
    assert_error(resp, 400, ["name should not be null or undefined", "name must be a string"], path)

    resp = await env.http.post(path, json={"name": "welcome"})
    assert_error(resp, 400, ["to should not be null or undefined"], path)

    resp = await env.http.post(path, json={"name": 5, "to": "sub-1", "payload": []})
    assert_error(resp, 400, ["name must be a string", "payload must be an object"], path)

    resp = await env.trigger("welcome", "sub-1", {"name": 12})
    body = assert_error(resp, 400, resp.json()["message"], path)
    assert body["message"] == ["payload.name must be a string"]

    assert await env.sql("select count(*) from subscribers where environment_id = :e", e=env.id) == [(0,)]
    assert await env.sql("select count(*) from messages where environment_id = :e", e=env.id) == [(0,)]


async def test_unknown_workflow_is_422(env: Env) -> None:
    resp = await env.trigger("no-such-workflow", "sub-1")
    assert_error(resp, 422, "workflow_not_found", "/v1/events/trigger")
    assert resp.json()["error"] == "Unprocessable Entity"


async def test_a_workflow_is_triggered_by_its_identifier_not_its_id(env: Env) -> None:
    """``name`` is the trigger identifier (Novu): a workflow's ``_id`` names no workflow to trigger."""
    body = {"name": "By name", "notificationGroup": {"name": "General"}, "active": True, "steps": []}
    created = (await env.http.post("/v1/workflows", json=body)).json()["data"]
    resp = await env.trigger(created["_id"], "sub-1")
    assert_error(resp, 422, "workflow_not_found", "/v1/events/trigger")


async def test_unknown_route_and_method(env: Env) -> None:
    assert_error(
        await env.http.get("/v1/nothing-here"), 404, "Cannot GET /v1/nothing-here", "/v1/nothing-here"
    )
    assert_error(
        await env.http.delete("/v1/events/trigger"),
        404,
        "Cannot DELETE /v1/events/trigger",
        "/v1/events/trigger",
    )


async def test_body_size_limit(stack: Stack) -> None:
    env = await stack.new_env()
    limit = stack.settings.max_body_bytes
    big = b'{"name":"welcome","to":"a","payload":{"blob":"' + b"x" * (limit + 10) + b'"}}'
    resp = await env.http.post(
        "/v1/events/trigger", content=big, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 413
    assert resp.json()["statusCode"] == 413 and "too large" in resp.json()["message"]
    assert await env.sql("select count(*) from subscribers where environment_id = :e", e=env.id) == [(0,)]


async def test_float_query_parameters_are_accepted(env: Env) -> None:
    await env.http.post("/v1/subscribers", json={"subscriberId": "f1"})
    resp = await env.http.get(
        "/v1/subscribers/f1/notifications/feed", params={"page": "0.0", "limit": "10.0"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["pageSize"] == 10
    resp = await env.http.get("/v1/subscribers/f1/notifications/feed", params={"limit": "2.5"})
    assert_error(resp, 400, ["limit must be an integer number"], "/v1/subscribers/f1/notifications/feed")


async def test_environments_are_isolated(stack: Stack) -> None:
    one, two = await stack.new_env(), await stack.new_env()
    resp = await one.trigger(
        "welcome",
        {"subscriberId": "shared-id", "email": "one@example.com"},
        {"name": "One"},
        transactionId="same-tx",
    )
    assert resp.status_code == 201
    resp = await two.trigger(
        "welcome",
        {"subscriberId": "shared-id", "email": "two@example.com"},
        {"name": "Two"},
        transactionId="same-tx",
    )
    assert resp.status_code == 201
    await one.settle("same-tx")
    await two.settle("same-tx")
    # The same transactionId in two environments is two notifications, each seeing only its own data.
    feed_one, feed_two = await one.feed("shared-id"), await two.feed("shared-id")
    assert [m["content"] for m in feed_one["data"]] == ["Welcome to Tidings, One!"]
    assert [m["content"] for m in feed_two["data"]] == ["Welcome to Tidings, Two!"]
    assert (await one.http.get("/v1/subscribers/shared-id")).json()["data"]["email"] == "one@example.com"
    assert (await two.http.get("/v1/subscribers/shared-id")).json()["data"]["email"] == "two@example.com"
    resp = await two.http.get(f"/v1/subscribers/{feed_one['data'][0]['_subscriberId']}")
    assert resp.status_code == 404


async def test_trigger_generates_transaction_id_and_upserts_actor(env: Env) -> None:
    resp = await env.trigger(
        "welcome",
        ["r1", {"subscriberId": "r2", "firstName": "Rita"}],
        {"name": "X"},
        actor={"subscriberId": "actor-1", "firstName": "Ann"},
    )
    assert resp.status_code == 201
    tx = resp.json()["data"]["transactionId"]
    assert len(tx) == 36
    await env.settle(tx)
    actor = (await env.http.get("/v1/subscribers/actor-1")).json()["data"]
    assert actor["firstName"] == "Ann"
    assert (await env.http.get("/v1/subscribers/r2")).json()["data"]["firstName"] == "Rita"
    assert (await env.feed("r1"))["totalCount"] == 1 and (await env.feed("r2"))["totalCount"] == 1


async def test_environment_me_and_keys_never_reveal_keys(stack: Stack) -> None:
    env = await stack.new_env("Staging")
    me = (await env.http.get("/v1/environments/me")).json()["data"]
    assert me["_id"] == env.id and me["name"] == "Staging"
    keys = (await env.http.get("/v1/environments/api-keys")).json()["data"]
    assert keys == [{"key": f"****{env.key[-4:]}", "_id": keys[0]["_id"]}]
    other = await stack.new_env()
    listed = (await other.http.get("/v1/environments")).json()["data"]
    assert [e["_id"] for e in listed] == [other.id]
