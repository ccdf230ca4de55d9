"""What a browser can send never reaches another subscriber or environment (issue 11, bad input)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from api.inbox_auth import AUDIENCE, issue_token
from store.hmac_keys import subscriber_hash
from store.models import Environment, Subscriber
from tests.inbox_support import app_id, deliver, in_app_workflow, open_session
from tests.support import Stack

# Every Inbox route, with a body that would be valid for the owner.
ROUTES = [
    ("GET", "/v1/inbox/notifications", None),
    ("GET", "/v1/inbox/notifications/count", None),
    ("PATCH", "/v1/inbox/notifications/{id}/read", None),
    ("PATCH", "/v1/inbox/notifications/{id}/unread", None),
    ("PATCH", "/v1/inbox/notifications/{id}/archive", None),
    ("PATCH", "/v1/inbox/notifications/{id}/unarchive", None),
    ("PATCH", "/v1/inbox/notifications/{id}/snooze", {"snoozeUntil": "{soon}"}),
    ("PATCH", "/v1/inbox/notifications/{id}/unsnooze", None),
    ("PATCH", "/v1/inbox/notifications/{id}/complete", {"actionType": "primary"}),
    ("PATCH", "/v1/inbox/notifications/{id}/revert", {"actionType": "primary"}),
    ("DELETE", "/v1/inbox/notifications/{id}/delete", None),
    ("POST", "/v1/inbox/notifications/read", {}),
    ("POST", "/v1/inbox/notifications/archive", {}),
    ("POST", "/v1/inbox/notifications/read-archive", {}),
    ("POST", "/v1/inbox/notifications/seen", {"notificationIds": ["{id}"]}),
    ("POST", "/v1/inbox/notifications/delete", {}),
    ("GET", "/v1/inbox/preferences", None),
    ("GET", "/v1/inbox/preferences/global", None),
    ("PATCH", "/v1/inbox/preferences", {"in_app": False}),
    ("PATCH", "/v1/inbox/preferences/comment", {"in_app": False}),
    ("PATCH", "/v1/inbox/preferences/bulk", {"preferences": [{"workflowId": "comment", "in_app": False}]}),
]


def _fill(value: object, message_id: str) -> object:
    if value is None:
        return None
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    return json.loads(json.dumps(value).replace("{id}", message_id).replace("{soon}", soon))


async def test_other_subscriber_and_environment_see_nothing(stack: Stack) -> None:
    """Each route, called by a second subscriber and by a subscriber of another environment, leaves the
    owner's notifications and preferences exactly as they were; per-id routes answer 404."""
    env = await stack.new_env()
    other_env = await stack.new_env()
    await in_app_workflow(
        stack,
        env,
        cta={"type": "redirect", "data": {}, "action": {"buttons": [{"type": "primary", "content": "Go"}]}},
    )
    await in_app_workflow(stack, other_env)
    owner, _ = await open_session(env, "owner")
    await deliver(env, "comment", "owner", 2, "tx-own")
    before = (await owner.get("/v1/inbox/notifications")).json()["data"]
    prefs_before = (await owner.get("/v1/inbox/preferences")).json()["data"]
    message_id = before[0]["id"]
    neighbour, _ = await open_session(env, "neighbour")
    stranger, _ = await open_session(other_env, "owner")  # same subscriberId, other environment

    for intruder in (neighbour, stranger):
        for method, path, body in ROUTES:
            resp = await intruder.request(
                method, path.replace("{id}", message_id), json=_fill(body, message_id)
            )
            if "{id}" in path:
                assert resp.status_code == 404, (method, path, resp.text)
                assert resp.json()["message"] == f"Notification with id: {message_id} is not found."
            else:
                assert resp.status_code < 500, (method, path, resp.text)
            if method == "GET" and path.endswith("notifications"):
                assert resp.json()["data"] == []
    assert (await owner.get("/v1/inbox/notifications")).json()["data"] == before
    assert (await owner.get("/v1/inbox/preferences")).json()["data"] == prefs_before


@pytest.mark.parametrize(
    "kind", ["missing", "garbage", "forged", "expired", "other-audience", "no-subscriber"]
)
async def test_bad_tokens_are_401(stack: Stack, kind: str) -> None:
    env = await stack.new_env()
    _, session = await open_session(env, "tim")
    settings = stack.settings
    async with stack.db.session() as s:
        row = await s.get(Environment, env.id)
        sub = (await s.exec(Subscriber.__table__.select().where(Subscriber.subscriber_id == "tim"))).first()  # type: ignore[attr-defined]
    assert row is not None and sub is not None
    claims = jwt.decode(session["token"], options={"verify_signature": False})
    tokens = {
        "missing": None,
        "garbage": "not-a-token",
        "forged": jwt.encode(claims, b"someone else's secret, 32 bytes long!!", algorithm="HS256"),
        "expired": issue_token(
            settings.model_copy(update={"inbox_token_ttl_seconds": -60}),
            environment=row,
            subscriber=await _sub(stack, sub.id),
        ),
        "other-audience": jwt.encode({**claims, "aud": "elsewhere"}, _key(stack), algorithm="HS256"),
        "no-subscriber": jwt.encode({**claims, "sub": "0" * 24}, _key(stack), algorithm="HS256"),
    }
    client = stack.http_client()
    if tokens[kind] is not None:
        client.headers["Authorization"] = f"Bearer {tokens[kind]}"
    for method, path, body in ROUTES:
        resp = await client.request(method, path.replace("{id}", "0" * 24), json=_fill(body, "0" * 24))
        assert resp.status_code == 401, (kind, method, path, resp.text)
        assert resp.json()["message"] == "Unauthorized" and resp.json()["error"] == "Unauthorized"
    assert AUDIENCE == claims["aud"] and claims["exp"] > time.time()


def _key(stack: Stack) -> bytes:
    from api.inbox_auth import _signing_key

    return _signing_key(stack.settings)


async def _sub(stack: Stack, pk: str) -> Subscriber:
    async with stack.db.session() as s:
        found = await s.get(Subscriber, pk)
    assert found is not None
    return found


async def test_token_of_one_environment_with_another_identifier_is_refused(stack: Stack) -> None:
    env_a = await stack.new_env()
    env_b = await stack.new_env()
    client_a, _ = await open_session(env_a, "amy")
    client_a.headers["Novu-Application-Identifier"] = await app_id(env_b)
    resp = await client_a.get("/v1/inbox/notifications")
    assert resp.status_code == 401
    client_a.headers["Novu-Application-Identifier"] = await app_id(env_a)
    assert (await client_a.get("/v1/inbox/notifications")).status_code == 200


async def test_unknown_application_identifier(stack: Stack) -> None:
    resp = await stack.http_client().post(
        "/v1/inbox/session", json={"applicationIdentifier": "nope", "subscriberId": "x"}
    )
    assert resp.status_code == 400
    assert resp.json()["message"] == "Please provide a valid application identifier"


async def test_hmac_session(stack: Stack) -> None:
    """With ``credentials.hmac`` on the in-app integration, only the backend-computed hash opens a session;
    a hash made with another environment's key is refused."""
    env = await stack.new_env()
    other = await stack.new_env()
    integrations = (await env.http.get("/v1/integrations")).json()["data"]
    in_app = next(i for i in integrations if i["channel"] == "in_app")
    resp = await env.http.put(f"/v1/integrations/{in_app['_id']}", json={"credentials": {"hmac": True}})
    assert resp.status_code == 200, resp.text
    anonymous = stack.http_client()
    body = {"applicationIdentifier": await app_id(env), "subscriberId": "hal"}
    for bad in (None, "0" * 64, subscriber_hash(other.key, "hal"), subscriber_hash(env.key, "someone-else")):
        refused = await anonymous.post("/v1/inbox/session", json={**body, "subscriberHash": bad})
        assert refused.status_code == 400, bad
        assert refused.json()["message"] == "Please provide a valid HMAC hash"
    assert (await env.http.get("/v1/subscribers/hal")).status_code == 404  # nothing created when refused
    good = await anonymous.post(
        "/v1/inbox/session", json={**body, "subscriberHash": subscriber_hash(env.key, "hal")}
    )
    assert good.status_code == 201, good.text
    # With a valid hash the browser may update the profile (the backend vouched for this subscriber).
    updated = await anonymous.post(
        "/v1/inbox/session",
        json={**body, "subscriberHash": subscriber_hash(env.key, "hal"), "subscriber": {"firstName": "Hal"}},
    )
    assert updated.status_code == 201
    assert (await env.http.get("/v1/subscribers/hal")).json()["data"]["firstName"] == "Hal"
    # The key itself never leaves: not in the integration view, not in the session answer.
    assert env.key not in good.text
    assert env.key not in (await env.http.get("/v1/integrations")).text
    assert env.key not in (await env.http.get("/v1/environments/api-keys")).text


async def test_cors_only_on_inbox_routes(stack: Stack) -> None:
    """A web app on its own origin may call the Inbox routes; the API-key routes get no CORS headers."""
    client = stack.http_client()
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "PATCH"}
    inbox = await client.options("/v1/inbox/notifications/x/read", headers=preflight)
    assert inbox.status_code == 200 and inbox.headers["access-control-allow-origin"] == "*"
    assert "PATCH" in inbox.headers["access-control-allow-methods"]
    server = await client.options(
        "/v1/events/trigger", headers={**preflight, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in server.headers
