"""``Idempotency-Key`` as Novu answers it, checked across two API processes on one PostgreSQL database:
replay with ``Idempotency-Replay: true``, 409 while the first request runs, 422 for another body,
400 for a key over 255 characters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from store.db import Database
from tests.support import Env, Stack, eventually


@pytest.fixture(scope="module")
async def second_api(pg_stack: Stack) -> AsyncIterator[FastAPI]:
    """Another API process: its own app, engine and caches, on the same database and task queue."""
    db = Database(pg_stack.settings.database_url)
    app = create_app(pg_stack.settings, db=db, temporal=pg_stack.client)
    async with app.router.lifespan_context(app):
        yield app
    await db.dispose()


def client_for(app: FastAPI, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tidings.test",
        headers={"Authorization": f"ApiKey {key}"},
        timeout=60,
    )


async def test_replay_across_processes_sends_once(env: Env, second_api: FastAPI) -> None:
    body = {
        "name": "welcome",
        "to": {"subscriberId": "ida", "email": "ida@example.com"},
        "payload": {"name": "Ida"},
    }
    from tests import catalog_fixtures

    await catalog_fixtures.add_to(env, "welcome")
    first = await env.http.post("/v1/events/trigger", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    assert first.headers["idempotency-key"] == "k-1" and "idempotency-replay" not in first.headers
    async with client_for(second_api, env.key) as other:
        again = await other.post("/v1/events/trigger", json=body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 201
    assert again.headers["idempotency-replay"] == "true" and again.headers["idempotency-key"] == "k-1"
    # Without the key each trigger gets a fresh transactionId; the replay answers the first one's.
    assert again.json() == first.json()
    await env.settle(first.json()["data"]["transactionId"])
    rows = await env.sql("SELECT count(*) FROM notifications WHERE environment_id = :e", e=env.id)
    assert rows[0][0] == 1

    other_body = {**body, "payload": {"changed": True}}
    reused = await env.http.post("/v1/events/trigger", json=other_body, headers={"Idempotency-Key": "k-1"})
    assert reused.status_code == 422
    assert reused.json()["message"] == 'Request with key "k-1" is being reused for a different body'
    assert reused.json()["error"] == "Unprocessable Entity"

    too_long = await env.http.post("/v1/events/trigger", json=body, headers={"Idempotency-Key": "x" * 256})
    assert too_long.status_code == 400 and "maximum allowed length of 255" in too_long.json()["message"]
    ok_length = await env.http.post("/v1/events/trigger", json=body, headers={"Idempotency-Key": "y" * 255})
    assert ok_length.status_code == 201
    await env.settle(ok_length.json()["data"]["transactionId"])


async def test_in_progress_conflict_then_replay(env: Env, second_api: FastAPI, pg_stack: Stack) -> None:
    """While process A still runs the request (held on a table lock), process B answers 409."""
    url = pg_stack.settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    locker = await asyncpg.connect(url)
    body = {"subscriberId": "held", "firstName": "Held"}
    headers = {"Idempotency-Key": "slow-1"}
    try:
        tx = locker.transaction()
        await tx.start()
        await locker.execute("LOCK TABLE subscribers IN ACCESS EXCLUSIVE MODE")
        first = asyncio.create_task(env.http.post("/v1/subscribers", json=body, headers=headers))

        async def claimed() -> bool:
            rows = await locker.fetch("SELECT state FROM idempotency_keys WHERE key = 'slow-1'")
            return bool(rows) and rows[0]["state"] == "in_progress"

        await eventually(claimed)
        async with client_for(second_api, env.key) as other:
            busy = await other.post("/v1/subscribers", json=body, headers=headers)
            assert busy.status_code == 409
            assert busy.headers["retry-after"] == "1"
            assert busy.json()["message"] == (
                'Request with key "slow-1" is currently being processed. Please retry after 1 second'
            )
            await tx.rollback()
            done = await first
            assert done.status_code == 201, done.text
            replay = await other.post("/v1/subscribers", json=body, headers=headers)
        assert replay.status_code == 201 and replay.headers["idempotency-replay"] == "true"
        assert replay.json() == done.json()
    finally:
        await locker.close()


async def test_errors_are_replayed_and_keys_are_per_environment(env: Env, stack: Stack) -> None:
    bad = await env.http.post("/v1/subscribers", json={"firstName": "x"}, headers={"Idempotency-Key": "e"})
    assert bad.status_code == 400
    again = await env.http.post("/v1/subscribers", json={"firstName": "x"}, headers={"Idempotency-Key": "e"})
    assert again.status_code == 400 and again.headers["idempotency-replay"] == "true"
    assert again.json()["message"] == bad.json()["message"]
    # The same key in another environment is another key.
    other = await stack.new_env()
    fresh = await other.http.post(
        "/v1/subscribers", json={"subscriberId": "z"}, headers={"Idempotency-Key": "e"}
    )
    assert fresh.status_code == 201 and "idempotency-replay" not in fresh.headers
    # GET requests and requests without the header are untouched.
    plain = await env.http.post("/v1/subscribers", json={"subscriberId": "p"})
    assert "idempotency-key" not in plain.headers
