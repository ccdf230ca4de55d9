"""Start-up that waits and explains: `tidings temporal setup`, the API's refusal without the search
attribute, the worker waiting for Temporal, and the health endpoints. Real subprocesses, a real dev server."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from api.app import readiness
from store.db import Database
from tests.support import Stack, eventually
from tidings.devserver import dev_server_args, free_port
from tidings.temporal import TRANSACTION_ID, connect, missing_search_attributes


def cli_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env.update({f"TIDINGS_{k.upper()}": v for k, v in values.items()})
    return env


async def run_cli(*args: str, env: dict[str, str], timeout: float = 120) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tidings.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


async def register_bare_namespace(address: str) -> str:
    """A namespace without Tidings' search attribute (what a fresh cluster looks like)."""
    name = f"bare-{secrets.token_hex(4)}"
    client = await connect(address, name)
    ttl = Duration()
    ttl.FromTimedelta(timedelta(hours=24))
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=name, workflow_execution_retention_period=ttl)
    )
    return name


async def test_temporal_setup_creates_and_is_idempotent(temporal_address: str) -> None:
    namespace = f"tidings-{secrets.token_hex(4)}"
    env = cli_env(temporal_address=temporal_address, temporal_namespace=namespace)

    code, out, err = await run_cli("temporal", "setup", "--retention-hours", "48", env=env)
    assert code == 0, err
    assert "namespace created" in out and "TransactionId" in out
    client = await connect(temporal_address, namespace)
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(hours=48)
    assert await missing_search_attributes(client) == []

    code, out, err = await run_cli("temporal", "setup", "--retention-hours", "48", env=env)
    assert code == 0, err
    assert "namespace exists" in out and "added" not in out and "retention" not in out

    code, out, err = await run_cli("temporal", "setup", "--retention-hours", "72", env=env)
    assert code == 0 and "retention set to 72h" in out, err
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(hours=72)


async def test_temporal_setup_completes_an_existing_namespace(temporal_address: str) -> None:
    namespace = await register_bare_namespace(temporal_address)
    env = cli_env(temporal_address=temporal_address, temporal_namespace=namespace)
    code, out, err = await run_cli("temporal", "setup", "--retention-hours", "24", env=env)
    assert code == 0, err
    assert "namespace exists" in out and "search attributes added: TransactionId" in out
    assert await missing_search_attributes(await connect(temporal_address, namespace)) == []


async def test_api_refuses_to_start_without_the_search_attribute(
    temporal_address: str, tmp_path: Path
) -> None:
    namespace = await register_bare_namespace(temporal_address)
    env = cli_env(
        temporal_address=temporal_address,
        temporal_namespace=namespace,
        data_dir=str(tmp_path),
        api_port=str(free_port()),
    )
    assert (await run_cli("migrate", env=env))[0] == 0
    code, _, err = await run_cli("api", env=env)
    assert code == 1
    assert f"namespace '{namespace}' lacks the search attribute(s) TransactionId" in err
    assert "tidings temporal setup" in err and "Traceback" not in err


async def test_worker_gives_up_with_a_reason_when_temporal_never_comes(tmp_path: Path) -> None:
    env = cli_env(
        temporal_address=f"127.0.0.1:{free_port()}", data_dir=str(tmp_path), startup_timeout_seconds="3"
    )
    assert (await run_cli("migrate", env=env))[0] == 0
    code, _, err = await run_cli("worker", env=env)
    assert code == 1, err
    assert "waiting for Temporal at" in err and "retrying in" in err
    assert "tidings worker: cannot start: Temporal at" in err and "was not ready within 3s" in err
    assert "Fatal Python error" not in err and "Traceback" not in err


async def test_api_waits_for_temporal_then_gives_up_with_a_reason(tmp_path: Path) -> None:
    env = cli_env(
        temporal_address=f"127.0.0.1:{free_port()}",
        data_dir=str(tmp_path),
        api_port=str(free_port()),
        startup_timeout_seconds="3",
    )
    assert (await run_cli("migrate", env=env))[0] == 0
    code, _, err = await run_cli("api", env=env)
    assert code == 1, err
    assert "waiting for Temporal at" in err and "retrying in" in err
    assert "tidings api: cannot start: Temporal at" in err and "was not ready within 3s" in err
    assert "Fatal Python error" not in err and "Traceback" not in err


async def test_worker_waits_for_migrations_and_says_so(tmp_path: Path) -> None:
    env = cli_env(data_dir=str(tmp_path), startup_timeout_seconds="2")
    code, _, err = await run_cli("worker", env=env)
    assert code == 1
    assert (
        "waiting for the database (attempt 1): the database is not migrated yet: run `tidings migrate`" in err
    )
    assert "tidings worker: cannot start: the database was not ready within 2s" in err


async def test_worker_waits_for_temporal_reports_ready_and_drains_on_sigterm(tmp_path: Path) -> None:
    temporal_port, health_port = free_port(), free_port()
    env = cli_env(
        temporal_address=f"127.0.0.1:{temporal_port}",
        data_dir=str(tmp_path),
        worker_health_port=str(health_port),
        worker_health_host="127.0.0.1",
    )
    assert (await run_cli("migrate", env=env))[0] == 0
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tidings.cli", "worker", env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    server = None
    try:
        health = f"http://127.0.0.1:{health_port}/health"
        async with httpx.AsyncClient(timeout=5) as http:
            await eventually(lambda: _contains(log, "waiting for Temporal at"), timeout=60)
            assert (await http.get(f"{health}/live")).status_code == 200
            assert (await http.get(f"{health}/ready")).status_code == 503

            server = await asyncio.create_subprocess_exec(
                *dev_server_args(port=temporal_port, ui_port=None, db_file=None),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

            async def ready() -> bool | None:
                return (await http.get(f"{health}/ready")).status_code == 200 or None

            await eventually(ready, timeout=90)
        assert await _contains(log, "worker polling task queue tidings")
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 60) == 0
        assert await _contains(log, "worker stopped")
    finally:
        for proc in (worker, server):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()


async def _contains(path: Path, text: str) -> bool | None:
    return (text in await asyncio.to_thread(path.read_text)) or None


async def test_api_readiness_checks_database_and_temporal(
    stack: Stack, temporal_env: WorkflowEnvironment, temporal_address: str
) -> None:
    http = stack.http_client()
    live = await http.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await http.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "temporal": "ok"}}

    bare = await connect(temporal_address, await register_bare_namespace(temporal_address))

    async def missing_attribute() -> dict[str, str] | None:
        checks = await readiness(stack.db, bare)
        return checks if "missing" in checks["temporal"] else None  # a fresh namespace propagates first

    checks = await eventually(missing_attribute, timeout=30)
    assert checks == {"database": "ok", "temporal": f"missing search attribute(s) {TRANSACTION_ID.name}"}

    down = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere")
    try:
        checks = await readiness(down, temporal_env.client)
    finally:
        await down.dispose()
    assert checks["temporal"] == "ok" and checks["database"] != "ok"
