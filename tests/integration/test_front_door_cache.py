"""The API's cache of trigger configuration (store/config_cache.py): a warm trigger reads nothing from the
database, and a write through another API process — or straight into the database — is seen by the next
trigger (SQLite: at once, the stamp is read per look-up; PostgreSQL: once the write's NOTIFY arrives)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text

from api.app import create_app
from api.deps import environment_for_api_key
from store.db import Database
from tests.fakes.fixtures import add_workflow
from tests.support import Env, Stack, eventually

INAPP = [{"type": "in_app", "content": "Hi {{name}}"}]


class Statements:
    """Counts the SQL statements one app's database runs (both engines: SQLite has a read engine)."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        for engine in {db.engine, db.read_engine}:
            event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


@pytest.fixture
async def two_apps(any_stack: Stack) -> AsyncIterator[tuple[FastAPI, FastAPI, Statements]]:
    """Two API processes on the stack's database (own engines, own caches, own listeners), with rate
    limits counted in hour-long windows (leases of 50). Starts nothing on the stack's worker queue: the
    answers of the trigger route are what is checked."""
    settings = any_stack.settings.model_copy(
        update={"rate_limit_window_seconds": 3600, "task_queue": f"front-door-{secrets.token_hex(3)}"}
    )
    dbs = [Database(settings.database_url) for _ in range(2)]
    apps = [create_app(settings, db=db, temporal=any_stack.client) for db in dbs]
    counter = Statements(dbs[1])
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        yield apps[0], apps[1], counter
    for db in dbs:
        await db.dispose()


def client_for(app: FastAPI, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tidings.test",
        headers={"Authorization": f"ApiKey {key}"},
    )


async def write_sql(env: Env, statement: str, **params: Any) -> None:
    """A write straight into the database, through no API process."""
    async with env.stack.db.session() as session:
        await session.exec(text(statement), params=params)  # type: ignore[call-overload]


async def status_of(client: httpx.AsyncClient, name: str, **extra: Any) -> Any:
    body = {"name": name, "to": "ada", "payload": {"name": "Ada"}, **extra}
    resp = await client.post("/v1/events/trigger", json=body)
    return resp.json()["data"]["status"] if resp.status_code == 201 else resp.status_code


async def seen_by(client: httpx.AsyncClient, name: str, expected: Any, **extra: Any) -> None:
    """The trigger through ``client`` answers ``expected``: at once on SQLite (the stamp is read per
    look-up), once the write's NOTIFY has arrived on PostgreSQL (polled, bounded; never a fixed sleep)."""

    async def check() -> bool:
        return await status_of(client, name, **extra) == expected

    await eventually(check, timeout=10, interval=0.02)


async def test_warm_trigger_reads_nothing_and_sees_other_process_writes(
    any_stack: Stack, two_apps: tuple[FastAPI, FastAPI, Statements]
) -> None:
    writer, reader, statements = two_apps
    env: Env = await any_stack.new_env()
    name = f"cached-{secrets.token_hex(3)}"
    await add_workflow(env, name, INAPP)  # a row written straight to the database
    a, b = client_for(writer, env.key), client_for(reader, env.key)
    async with a, b:
        assert await status_of(b, name) == "processed"  # cold: key, definition read and cached
        before, window = statements.count, int(time.time() // 3600)
        for _ in range(10):
            assert await status_of(b, name) == "processed"
        if int(time.time() // 3600) == window:  # else the rate limit's new window took a new lease
            assert statements.count == before, "a warm trigger ran SQL"
        (used,) = await env.sql(
            "SELECT SUM(used) FROM rate_limit_windows WHERE environment_id = :e", e=env.id
        )
        assert used[0] in (50, 100), "11 triggers are counted by leases of 50 units"

        # Deactivated through the other API process: the next trigger here is refused.
        wf = (await a.get(f"/v1/workflows/{name}")).json()["data"]
        assert (await a.put(f"/v1/workflows/{wf['_id']}/status", json={"active": False})).status_code == 200
        await seen_by(b, name, "trigger_not_active")

        # Re-activated by SQL straight into the database, bypassing every API process.
        await write_sql(env, "UPDATE workflow_definitions SET active = true WHERE id = :id", id=wf["_id"])
        await seen_by(b, name, "processed")

        # A tenant the reader cached as missing, then created through the writer.
        assert await status_of(b, name, tenant="acme") == "no_tenant_found"
        assert (await a.post("/v1/tenants", json={"identifier": "acme", "name": "Acme"})).status_code == 201
        await seen_by(b, name, "processed", tenant="acme")

        # A workflow the reader cached as unknown (422), then created.
        other = f"later-{secrets.token_hex(3)}"
        assert await status_of(b, other) == 422
        await add_workflow(env, other, INAPP)
        await seen_by(b, other, "processed")

        # A revoked API key stops working on the reader too (not after the key cache's minute).
        await write_sql(env, "DELETE FROM api_keys WHERE environment_id = :e", e=env.id)
        await seen_by(b, name, 401)


async def test_own_writes_are_read_back_at_once(
    any_stack: Stack, two_apps: tuple[FastAPI, FastAPI, Statements]
) -> None:
    """Read-your-writes in one process, with no wait at all (the PostgreSQL listener is not awaited)."""
    app, _, _ = two_apps
    env: Env = await any_stack.new_env()
    name = f"own-{secrets.token_hex(3)}"
    await add_workflow(env, name, INAPP)
    async with client_for(app, env.key) as a:
        assert await status_of(a, name) == "processed"
        wf = (await a.get(f"/v1/workflows/{name}")).json()["data"]
        assert (await a.put(f"/v1/workflows/{wf['_id']}/status", json={"active": False})).status_code == 200
        assert await status_of(a, name) == "trigger_not_active"


async def test_committed_config_writes_of_this_process_are_reported(any_stack: Stack) -> None:
    """What makes read-your-writes immediate on PostgreSQL (before the NOTIFY arrives): a committed
    write of a watched table through this process's engine, however it is issued; not a rollback,
    not a write of another table."""
    from store.config_versions import on_config_write

    db = Database(any_stack.settings.database_url)
    seen: list[int] = []
    on_config_write(db.engine, lambda: seen.append(1))
    env: Env = await any_stack.new_env()
    try:
        async with db.session() as session:
            await session.exec(
                text("UPDATE tenants SET name = 'x' WHERE environment_id = :e"), params={"e": env.id}
            )  # type: ignore[call-overload]
        assert len(seen) == 1
        with pytest.raises(RuntimeError):
            async with db.session() as session:
                await session.exec(
                    text("DELETE FROM workflow_definitions WHERE environment_id = :e"), params={"e": env.id}
                )  # type: ignore[call-overload]
                raise RuntimeError("rolled back")
        async with db.session() as session:
            await session.exec(
                text("DELETE FROM rate_limit_windows WHERE environment_id = :e"), params={"e": env.id}
            )  # type: ignore[call-overload]
        assert len(seen) == 1
    finally:
        await db.dispose()


async def test_concurrent_triggers_share_one_rate_limit_lease(
    any_stack: Stack, two_apps: tuple[FastAPI, FastAPI, Statements]
) -> None:
    """Requests arriving together at a fresh window wait for one reservation instead of each making one."""
    _, app, _ = two_apps
    env: Env = await any_stack.new_env()
    name = f"herd-{secrets.token_hex(3)}"
    await add_workflow(env, name, INAPP)
    async with client_for(app, env.key) as b:
        window = int(time.time() // 3600)
        answers = await asyncio.gather(*(status_of(b, name) for _ in range(30)))
        assert answers == ["processed"] * 30
        rows = await env.sql(
            "SELECT used FROM rate_limit_windows WHERE environment_id = :e AND category = 'trigger'", e=env.id
        )
    if int(time.time() // 3600) == window:  # else a new window took its own lease
        assert [r[0] for r in rows] == [50], "30 concurrent triggers reserved more than one lease"


async def test_requests_on_a_cold_key_share_one_look_up(
    any_stack: Stack, two_apps: tuple[FastAPI, FastAPI, Statements]
) -> None:
    """Requests that arrive together when a key is not cached (first use, or its entry expired under
    load) wait for one database look-up instead of each reading the key."""
    _, reader, statements = two_apps
    env: Env = await any_stack.new_env()
    state = reader.state

    async def cold(n: int) -> int:
        state.key_cache.clear()
        before = statements.count
        found = await asyncio.gather(*(environment_for_api_key(state, env.key) for _ in range(n)))
        assert {e.id for e in found if e is not None} == {env.id} and None not in found
        return statements.count - before

    one = await cold(1)
    assert one > 0
    assert await cold(20) == one
    assert state.key_flights == {}

    # The request that does the look-up is cancelled (its client went away): the others still get an answer.
    state.key_cache.clear()
    leader = asyncio.create_task(environment_for_api_key(state, env.key))
    waiter = asyncio.create_task(environment_for_api_key(state, env.key))
    await asyncio.sleep(0)
    assert state.key_flights, "the first request is looking the key up"
    leader.cancel()
    assert (await waiter) is not None and (await waiter).id == env.id  # type: ignore[union-attr]
    assert leader.cancelled() and state.key_flights == {}
    state.key_cache.clear()
    assert await asyncio.gather(
        environment_for_api_key(state, "nope"), environment_for_api_key(state, "nope")
    ) == [
        None,
        None,
    ]
