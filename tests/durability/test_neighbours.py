"""Neighbours failing (issue 13 row 11, item 6) and the standing fault suite (item 7).

A locked SQLite database, a stopped (SIGSTOP: "slow") and a killed-then-restarted Temporal server: the API
answers 503 with ``Retry-After`` in Novu's error body within its configured timeout, reads keep working,
``/v1/health-check`` says what is down, nothing is acknowledged that was not started, and once the
neighbour is back a retried trigger delivers exactly once; a provider slower than its timeout is retried
and still delivers once. (A worker SIGKILLed mid-step: tests/durability/test_exactly_once.py, tests/durability/test_durability.py
and tests/durability/test_fanout_crash.py.)
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from temporalio.client import Client

from api.app import create_app
from store.db import Database
from store.migrate import upgrade
from tests.fakes.fixtures import add_integration, fake_fixture, http_fakes_fixture  # noqa: F401  (fixtures)
from tests.fakes.http_api import FakeHttpProviders
from tests.support import Env, Stack, eventually
from tests.timing_support import define, in_app, in_app_contents
from tidings.bootstrap import create_environment_key
from tidings.devserver import dev_server_args, free_port, wait_for_port
from tidings.startup import wait_for_temporal
from workflows.models import execution_id

FAST = {"db_timeout_seconds": 1.0, "temporal_timeout_seconds": 2.0, "retry_after_seconds": 7}


def assert_503(resp: httpx.Response, neighbour: str) -> None:
    assert resp.status_code == 503, resp.text
    assert resp.headers["retry-after"] == "7"
    body = resp.json()
    assert body["statusCode"] == 503 and body["error"] == "Service Unavailable"
    assert neighbour in body["message"] and "errorId" not in body


@asynccontextmanager
async def http_for(app: Any, key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tidings.test",
        headers={"Authorization": f"ApiKey {key}"},
        timeout=60,
    ) as http:
        yield http


async def started(client: Client, env_id: str, transaction_id: str) -> bool:
    from temporalio.service import RPCError

    try:
        await client.get_workflow_handle(execution_id(env_id, transaction_id)).describe()
    except RPCError:
        return False
    return True


# -- the database ----------------------------------------------------------------------------------


async def test_locked_sqlite_reads_work_writes_answer_503(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "tidings.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    setup = Database(url)
    env_id, key, _ = await create_environment_key(setup, stack.settings, organization="lock-org")
    await setup.dispose()
    settings = stack.settings.model_copy(update={"database_url": url, **FAST})
    app = create_app(settings, temporal=stack.client)  # its own Database, with the API's short timeouts
    async with app.router.lifespan_context(app), http_for(app, key) as http:
        assert (await http.post("/v1/subscribers", json={"subscriberId": "before"})).status_code == 201
        assert (await http.get("/v1/health-check")).json()["data"]["status"] == "ok"
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            read = await http.get("/v1/subscribers/before")  # reads never wait for the writer
            assert read.status_code == 200 and read.json()["data"]["subscriberId"] == "before"
            assert_503(await http.post("/v1/subscribers", json={"subscriberId": "during"}), "database")
            # The trigger's door only reads (a cached definition, else a read session), so a held write
            # lock does not stop it: its validation still answers. (Nothing acknowledged that was not
            # started when the database is gone: test_postgres_gone_answers_503_and_recovers.)
            refused = await http.post("/v1/events/trigger", json={"name": "welcome", "to": "during"})
            assert refused.status_code == 400 and "payload.name" in refused.text
            health = await http.get("/v1/health-check")
            assert health.status_code == 503 and health.json()["data"]["info"]["database"]["status"] == "down"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert (await http.post("/v1/subscribers", json={"subscriberId": "during"})).status_code == 201
        assert (await http.get("/v1/health-check")).status_code == 200


# -- Temporal ----------------------------------------------------------------------------------------


@pytest.fixture
def temporal_process(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A Temporal dev server of this test only (on an SQLite file, so it can be restarted)."""
    port = free_port()
    args = dev_server_args(port=port, ui_port=None, db_file=tmp_path / "temporal.db")
    state: dict[str, Any] = {"port": port, "args": args, "procs": []}

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        state["procs"].append(proc)
        wait_for_port("127.0.0.1", port)
        return proc

    state["start"] = start
    start()
    yield state
    for proc in state["procs"]:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait(timeout=10)


@asynccontextmanager
async def temporal_stack(stack: Stack, address: str) -> AsyncIterator[tuple[Env, Client, Any]]:
    from worker import build_worker

    # A fresh server opens its port before its frontend is healthy: connect as the worker does, retrying.
    client = await wait_for_temporal(
        stack.settings.model_copy(update={"temporal_address": address, "startup_timeout_seconds": 60})
    )
    queue = f"faults-{secrets.token_hex(4)}"
    settings = stack.settings.model_copy(update={"task_queue": queue, **FAST})
    base = await stack.new_env()
    await define(base, "ping", [in_app("hello", "hello {{subscriber.subscriberId}}")])
    app = create_app(settings, db=stack.db, temporal=client)
    async with (
        build_worker(client=client, db=stack.db, settings=settings),
        app.router.lifespan_context(app),
        http_for(app, base.key) as http,
    ):
        yield Env(stack=stack, id=base.id, key=base.key, http=http), client, app


async def exactly_one(env: Env, client: Client, subscriber: str, tx: str) -> None:
    """Called after the transaction's execution completed: its subscriber has exactly one message."""
    await client.get_workflow_handle(execution_id(env.id, tx)).result()
    assert await in_app_contents(env, subscriber) == [f"hello {subscriber}"], tx


async def test_stopped_temporal_answers_503_then_delivers_once(
    stack: Stack, temporal_process: dict[str, Any]
) -> None:
    async with temporal_stack(stack, f"127.0.0.1:{temporal_process['port']}") as (env, client, _app):
        server: subprocess.Popen[bytes] = temporal_process["procs"][-1]
        server.send_signal(signal.SIGSTOP)  # alive, accepting connections, answering nothing: "slow"
        try:
            assert_503(await env.trigger("ping", "slow-1", transactionId="slow-1"), "Temporal")
            health = await env.http.get("/v1/health-check")
            assert health.status_code == 503 and health.json()["data"]["info"]["temporal"]["status"] == "down"
            assert (await env.http.get("/v1/subscribers/slow-1")).status_code in (200, 404)  # the API lives
        finally:
            server.send_signal(signal.SIGCONT)

        # The client retries with the same transactionId: whether or not the first start reached Temporal,
        # one notification is delivered.
        async def retried() -> httpx.Response | None:
            resp = await env.trigger("ping", "slow-1", transactionId="slow-1")
            return resp if resp.status_code == 201 else None

        await eventually(retried, timeout=30, interval=0.5)
        await exactly_one(env, client, "slow-1", "slow-1")


async def test_killed_temporal_answers_503_then_restarts_and_delivers_once(
    stack: Stack, temporal_process: dict[str, Any]
) -> None:
    async with temporal_stack(stack, f"127.0.0.1:{temporal_process['port']}") as (env, client, _app):
        assert (await env.trigger("ping", "k-before", transactionId="k-before")).status_code == 201
        await exactly_one(env, client, "k-before", "k-before")
        server: subprocess.Popen[bytes] = temporal_process["procs"][-1]
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        assert_503(await env.trigger("ping", "k-down", transactionId="k-down"), "Temporal")
        health = await env.http.get("/v1/health-check")
        assert health.status_code == 503 and health.json()["data"]["info"]["temporal"]["status"] == "down"
        temporal_process["start"]()

        async def retried() -> httpx.Response | None:
            resp = await env.trigger("ping", "k-down", transactionId="k-down")
            return resp if resp.status_code == 201 else None

        await eventually(retried, timeout=60, interval=0.5)
        await exactly_one(env, client, "k-down", "k-down")
        await exactly_one(env, client, "k-before", "k-before")  # not repeated by the restart
        assert (await env.http.get("/v1/health-check")).status_code == 200


# -- a slow provider ---------------------------------------------------------------------------------


async def test_slow_provider_is_retried_and_delivers_once(stack: Stack, fake: FakeHttpProviders) -> None:
    """The provider holds the first request past the provider timeout: the step is retried with the same
    idempotency key, the provider de-duplicates, one email is delivered and recorded once."""
    from worker import build_worker

    queue = f"slow-provider-{secrets.token_hex(4)}"
    settings = stack.settings.model_copy(
        update={"task_queue": queue, "provider_timeout_seconds": 1.0, "provider_backoff_seconds": 0.1}
    )
    base = await stack.new_env()
    app = create_app(settings, db=stack.db, temporal=stack.client)
    fake.stall("/emails")
    async with (
        build_worker(client=stack.client, db=stack.db, settings=settings),
        app.router.lifespan_context(app),
        http_for(app, base.key) as http,
    ):
        env = Env(stack=stack, id=base.id, key=base.key, http=http)
        resend = await add_integration(env, "resend", "email", {"apiKey": "re_k", "baseUrl": fake.url})
        assert (await http.post(f"/v1/integrations/{resend['_id']}/set-primary")).status_code == 200
        body = {"subscriberId": "slowp", "email": "slowp@example.com"}
        assert (await env.trigger("welcome", body, {"name": "S"}, transactionId="slowp")).status_code == 201

        async def retried() -> bool | None:
            return len(fake.to("/emails")) >= 2 or None  # the timed-out send was tried again, same key

        await eventually(retried, timeout=60)
        fake.release()  # the first request completes; the provider answers the retries with its result
        await env.settle("slowp", timeout=60)
    requests = fake.to("/emails")
    assert len(requests) >= 2 and len({r.headers["idempotency-key"] for r in requests}) == 1
    assert len(fake.delivered) == 1  # the provider sent one email
    rows = await env.sql("select status from messages where transaction_id = 'slowp' and channel = 'email'")
    assert [r.status for r in rows] == ["sent"]
    assert stack.mailbox.to("slowp@example.com") == []  # no failover duplicate through SMTP


class TcpProxy:
    """A TCP proxy to PostgreSQL that can be cut (every connection closed, nothing accepted) and restored."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def down(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        self.writers.clear()
        await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_postgres_gone_answers_503_and_recovers(stack: Stack, pg_url: str) -> None:
    target = urlsplit(pg_url.replace("postgresql+asyncpg://", "http://"))
    proxy = TcpProxy(target.port or 5432)
    await proxy.up()
    url = pg_url.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    settings = stack.settings.model_copy(update={"database_url": url, **FAST})
    env = await stack.new_env()
    app = create_app(settings, temporal=stack.client)  # its own engine, through the proxy
    try:
        async with app.router.lifespan_context(app), http_for(app, env.key) as http:
            assert (await http.post("/v1/subscribers", json={"subscriberId": "pg-1"})).status_code == 201
            await proxy.down()
            assert_503(await http.post("/v1/subscribers", json={"subscriberId": "pg-2"}), "database")
            assert_503(
                await http.post("/v1/events/trigger", json={"name": "welcome", "to": "pg-2"}), "database"
            )
            health = await http.get("/v1/health-check")
            assert health.status_code == 503 and health.json()["data"]["info"]["database"]["status"] == "down"
            await proxy.up()

            async def back() -> bool:
                resp = await http.post("/v1/subscribers", json={"subscriberId": "pg-2"})
                return resp.status_code == 201

            await eventually(back, timeout=30, interval=0.5)
            assert (await http.get("/v1/health-check")).status_code == 200
    finally:
        if proxy.server is not None and proxy.server.is_serving():
            await proxy.down()
    rows = await env.sql(
        "select subscriber_id from subscribers where environment_id = :e order by 1", e=env.id
    )
    assert [r[0] for r in rows] == ["pg-1", "pg-2"]  # nothing half-written while it was gone
