"""Hostile input at the door (issue 13, rows 3, 6, 7, 8 and 10): each attack from the audit is answered
with a 4xx in Novu's error body before any work is done, and never with a 500 or a stuck execution.
The limits are the table in docs/limits.md."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from api.limits import AUTH_FAILURES, MAX_JSON_DEPTH
from store.workflow_steps import template_paths
from tests.integration.test_subscribers import add_integration
from tests.support import Env, Stack
from workflows.steps.timing import MAX_DELAY, TimingError, duration


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def assert_novu_400(resp: httpx.Response, text: str) -> None:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert {"statusCode", "timestamp", "path", "message", "error"} <= set(body)
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert text in json.dumps(body["message"]), body["message"]


async def create_workflow(
    env: Env, name: str, steps: list[dict[str, Any]], active: bool = True
) -> httpx.Response:
    groups = (await env.http.get("/v1/notification-groups")).json()["data"]
    body = {"name": name, "active": active, "steps": steps, "notificationGroupId": groups[0]["_id"]}
    return await env.http.post("/v1/workflows", json=body)


async def welcome(env: Env) -> None:
    resp = await create_workflow(env, "hostile-welcome", [{"template": {"type": "in_app", "content": "Hi"}}])
    assert resp.status_code == 201, resp.text


# --- row 6: overrides.delay ---------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e300", "NaN", "Infinity", "-Infinity", "-1", '"soon"'])
async def test_absurd_delay_override_is_a_400(env: Env, amount: str) -> None:
    await welcome(env)
    delay = '{"amount": ' + amount + ', "unit": "days"}'
    raw = '{"name": "hostile-welcome", "to": "s1", "overrides": {"delay": ' + delay + "}}"
    resp = await env.http.post(
        "/v1/events/trigger", content=raw, headers={"content-type": "application/json"}
    )
    assert_novu_400(resp, "overrides.delay.amount")


def test_the_workflow_side_never_fails_on_a_stored_absurd_delay() -> None:
    """Definitions stored before the API refused them: a step error, or clamped, never an exception
    that would fail the workflow task forever (OverflowError, ValueError from timedelta)."""
    assert duration(1e300, "days") == MAX_DELAY
    for bad in (math.nan, math.inf, "inf", "1e999"):
        with pytest.raises(TimingError):
            duration(bad, "days")


# --- row 7: nesting, sizes, transactionId, page -------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 220, 5000])
async def test_deep_payload_is_a_400(env: Env, depth: int) -> None:
    await welcome(env)
    deep = '{"a":' * depth + '"x"' + "}" * depth  # built as text: json.dumps would recurse too deep
    body = '{"name": "hostile-welcome", "to": "s1", "payload": ' + deep + "}"
    resp = await env.http.post(
        "/v1/events/trigger", content=body, headers={"content-type": "application/json"}
    )
    assert_novu_400(resp, "nested deeper than")


async def test_payload_at_the_depth_limit_is_delivered(env: Env) -> None:
    await welcome(env)
    payload = {"deep": nested(MAX_JSON_DEPTH - 3)}
    resp = await env.trigger("hostile-welcome", "s1", payload, transactionId="deep-ok")
    assert resp.status_code == 201, resp.text
    await env.settle("deep-ok")
    assert (await env.feed("s1"))["totalCount"] == 1


@pytest.mark.parametrize("tx", ["x" * 976, "x" * 257, "line\nbreak", "nul\x00", ""])
async def test_bad_transaction_id_is_a_400(env: Env, tx: str) -> None:
    await welcome(env)
    resp = await env.trigger("hostile-welcome", "s1", {}, transactionId=tx)
    assert_novu_400(resp, "transactionId must be 1 to 256 bytes")


async def test_payload_over_the_size_limit_is_a_400(env: Env) -> None:
    await welcome(env)
    resp = await env.trigger("hostile-welcome", "s1", {"blob": "x" * (2 * 1024 * 1024 + 10)})
    assert_novu_400(resp, "at most 524288 bytes")


@pytest.mark.parametrize("page", ["1e20", "99999999999999999999", "100001"])
async def test_huge_page_is_a_400(env: Env, page: str) -> None:
    resp = await env.http.get("/v1/subscribers", params={"page": page})
    assert_novu_400(resp, "page must not be greater than 100000")
    resp = await env.http.get("/v1/messages", params={"page": "0", "limit": "1e12"})
    assert_novu_400(resp, "limit must not be greater than")


# --- row 8: bulk with a bad item ----------------------------------------------------------------------


async def test_bulk_with_a_bad_item_answers_every_item(env: Env) -> None:
    """Each item gets its own result (Novu's semantics); before, an item Temporal refused made the request
    a 500 after the good ones had been delivered, and clients retried all of them."""
    await welcome(env)
    events = [
        {"name": "hostile-welcome", "to": "b1", "transactionId": "bulk-ok-1"},
        {"name": "hostile-welcome", "to": "b2", "transactionId": "y" * 980},
        {"name": "hostile-welcome", "to": "b3", "payload": {"blob": "x" * 600_000}},
        {"name": "hostile-welcome", "to": "b4", "transactionId": "bulk-ok-2"},
    ]
    resp = await env.http.post("/v1/events/trigger/bulk", json={"events": events})
    assert resp.status_code == 201, resp.text
    data = resp.json()["data"]
    assert [d["status"] for d in data] == ["processed", "error", "error", "processed"]
    assert "transactionId must be" in data[1]["error"][0]
    assert "at most 524288 bytes" in data[2]["error"][0]
    await env.settle("bulk-ok-1")
    await env.settle("bulk-ok-2")
    assert (await env.feed("b1"))["totalCount"] == 1


# --- row 3: quadratic work on the API event loop ------------------------------------------------------


def test_unclosed_mustaches_are_linear() -> None:
    """The lazy regex read to the end of the text from every ``{{``: 24 KB took 7.5 s, this would take
    hours. One pass now."""
    assert template_paths(["{{" * 400_000]) == []
    assert template_paths(["{{{raw}}} {{name}} {{#each items}}{{this.x}}{{/each}}"]) == [
        "raw",
        "name",
        "items",
    ]
    many = " ".join(f"{{{{v{i}}}}}" for i in range(50_000))
    assert len(template_paths([many])) == 50_000


async def test_workflow_full_of_mustaches_is_accepted(env: Env) -> None:
    steps = [{"template": {"type": "in_app", "content": "{{" * 45_000, "subject": "{{" * 45_000}}]
    resp = await create_workflow(env, "braces", steps)
    assert resp.status_code == 201, resp.text


async def test_template_over_the_size_limit_is_a_400(env: Env) -> None:
    steps = [{"template": {"type": "in_app", "content": "x" * 100_001}}]
    resp = await create_workflow(env, "big", steps)
    assert_novu_400(resp, "at most 100000 characters")


async def test_device_tokens_are_bounded(stack: Stack, env: Env) -> None:
    await add_integration(stack, env, "fcm", "push")
    resp = await env.http.post("/v1/subscribers", json={"subscriberId": "dev"})
    assert resp.status_code == 201, resp.text
    url = "/v1/subscribers/dev/credentials"
    body: dict[str, Any] = {
        "providerId": "fcm",
        "credentials": {"deviceTokens": [f"t{i}" for i in range(20_000)]},
    }
    assert_novu_400(await env.http.put(url, json=body), "deviceTokens must contain no more than 100 elements")
    for start in (0, 100, 150):  # appends keep the newest 100, de-duplicated
        body["credentials"]["deviceTokens"] = [f"t{i}" for i in range(start, start + 100)]
        resp = await env.http.patch(url, json=body)
        assert resp.status_code == 200, resp.text
    channels = (await env.http.get("/v1/subscribers/dev")).json()["data"]["channels"]
    tokens = channels[0]["credentials"]["deviceTokens"]
    assert len(tokens) == 100 and tokens[-1] == "t249" and len(set(tokens)) == 100


# --- row 10: authentication before the body, throttled failures --------------------------------------


async def raw_post(
    stack: Stack, headers: list[tuple[bytes, bytes]], body: bytes, ip: str
) -> tuple[int, bool]:
    """POST through the ASGI app directly; returns the status and whether the app read the body."""
    read = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        read = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/events/trigger",
        "raw_path": b"/v1/events/trigger",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"tidings.test"), (b"content-length", str(len(body)).encode()), *headers],
        "client": (ip, 40000),
        "server": ("tidings.test", 80),
    }
    await stack.app(scope, receive, send)
    return status, read


async def test_a_bad_key_is_refused_before_the_body_is_read(stack: Stack) -> None:
    big = b'{"name": "x", "to": "y", "payload": {"blob": "' + b"x" * (5 * 1024 * 1024) + b'"}}'
    status, read = await raw_post(stack, [(b"authorization", b"ApiKey not-a-key")], big, "198.51.100.1")
    assert (status, read) == (401, False)
    status, read = await raw_post(stack, [], big, "198.51.100.2")  # no key: a small body cap
    assert (status, read) == (413, False)


async def test_repeated_failed_auth_is_throttled_per_client(stack: Stack) -> None:
    env = await stack.new_env()
    ip = "203.0.113.9"

    def client(key: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"ApiKey {key}"} if key else {}
        transport = httpx.ASGITransport(app=stack.app, client=(ip, 5000))
        return httpx.AsyncClient(transport=transport, base_url="http://tidings.test", headers=headers)

    async with client("guess") as guesser, client(None) as anonymous, client(env.key) as owner:
        assert (await owner.get("/v1/subscribers")).status_code == 200  # a key known good
        for _ in range(AUTH_FAILURES):
            assert (await guesser.get("/v1/subscribers")).status_code == 401
        blocked = await guesser.get("/v1/subscribers")
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert blocked.json()["statusCode"] == 429 and "Too many failed" in blocked.json()["message"]
        assert (await anonymous.get("/v1/subscribers")).status_code == 429
        assert (await owner.get("/v1/subscribers")).status_code == 200  # the owner is not locked out
    other = await env.stack.http_client("guess").get("/v1/subscribers")  # another client IP
    assert other.status_code == 401
