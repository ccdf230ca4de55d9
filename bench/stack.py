"""Everything a benchmark run needs, started and stopped by the run itself.

A Temporal dev server on an SQLite file (WAL pragmas), the app database (a throwaway PostgreSQL database
when ``TIDINGS_DATABASE_URL`` points at PostgreSQL, else an SQLite file), the Tidings worker
(``python worker.py``), two API processes (``tidings api`` under uvicorn) and the baseline worker.
The "sink" API starts executions on a task queue no worker polls (the accept-rate and latency runs
measure the front door only, like their baseline); the "live" API feeds the Tidings worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
from sqlalchemy import text
from temporalio.client import Client

from bench.baseline import PROVIDER_DELAY_MS
from store.db import Database
from store.migrate import upgrade
from tidings.bootstrap import create_environment_key
from tidings.devserver import dev_server_args, free_port, wait_for_port
from tidings.settings import Settings
from tidings.temporal import connect

ROOT = Path(__file__).resolve().parent.parent
SECRET = "tidings-bench-secret"
INAPP_WORKFLOW = "bench-inapp"
EMAIL_WORKFLOW = "bench-email"
DIGEST_WORKFLOW = "bench-digest"
SUBSCRIBER = "bench-sub"


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.popen.pid)

    def cpu_seconds(self) -> float:
        try:
            t = self.ps.cpu_times()
            return float(t.user + t.system)
        except psutil.Error:
            return 0.0

    def children_cpu_seconds(self) -> float:
        """CPU seconds of the process's living children (the worker's render sandbox processes)."""
        total = 0.0
        try:
            children = self.ps.children(recursive=True)
        except psutil.Error:
            return 0.0
        for child in children:
            try:
                t = child.cpu_times()
            except psutil.Error:
                continue
            total += float(t.user + t.system)
        return total

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def last_error(self) -> str:
        """The last line of the log that names an error (a worker failing tasks says why there)."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        for line in reversed(lines[-2000:]):
            if "Error:" in line or "Error(" in line:
                return line.strip()[:300]
        return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT if self.name != "temporal" else signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


class ClientPool:
    """``concurrency`` HTTP clients, each with its own keep-alive connection: one per simulated caller.

    One shared httpx pool of 64 connections costs the load generator several times more CPU per request
    (measured: ~3-13 ms against ~2 ms), CPU taken from the API on a 2-core machine.
    """

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self._all = clients
        self._free = deque(clients)

    async def post(self, path: str, json: Any) -> httpx.Response:
        client = self._free.pop() if self._free else self._all[0]
        try:
            try:
                return await client.post(path, json=json)
            except httpx.TransportError:
                # A keep-alive connection the server closed while idle (between rounds): once more.
                # Triggers carry their transactionId, so a repeated one is never a second send.
                return await client.post(path, json=json)
        finally:
            self._free.append(client)

    async def aclose(self) -> None:
        for client in self._all:
            await client.aclose()


@dataclass
class Stack:
    tmp: Path
    address: str
    client: Client
    db: Database
    db_url: str
    backend: str
    env_id: str
    api_key: str
    subscriber_pk: str
    task_queue: str
    baseline_queue: str
    sink_url: str = ""
    provider_url: str = ""
    live_url: str = ""
    procs: dict[str, Proc] = field(default_factory=dict)

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each process of the run (this one included, as ``bench``)."""
        out = {name: p.cpu_seconds() for name, p in self.procs.items()}
        if "worker" in self.procs:  # its render sandbox children (Tidings processes too)
            out["worker_sandbox"] = self.procs["worker"].children_cpu_seconds()
        t = psutil.Process().cpu_times()
        out["bench"] = float(t.user + t.system)
        return out

    def http(self, base_url: str, concurrency: int = 1) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        return httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"ApiKey {self.api_key}"},
            limits=limits,
            timeout=120,
        )

    def clients(self, base_url: str, concurrency: int) -> ClientPool:
        return ClientPool([self.http(base_url) for _ in range(concurrency)])

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.db.session() as session:
            return list((await session.exec(text(statement), params=params)).all())  # type: ignore[call-overload]

    async def count_messages(self, *, like: str | None = None, transaction_id: str | None = None) -> int:
        if transaction_id is not None:
            rows = await self.sql(
                "SELECT count(*) FROM messages WHERE environment_id = :e AND transaction_id = :t",
                e=self.env_id,
                t=transaction_id,
            )
        else:
            rows = await self.sql(
                "SELECT count(*) FROM messages WHERE environment_id = :e AND transaction_id LIKE :p",
                e=self.env_id,
                p=like,
            )
        return int(rows[0][0])

    def check_alive(self) -> None:
        for p in self.procs.values():
            if not p.alive():
                raise RuntimeError(f"{p.name} exited ({p.popen.returncode}); its log ends: {p.tail(3)}")


def _spawn(name: str, args: list[str], env: dict[str, str], tmp: Path) -> Proc:
    log = tmp / f"{name}.log"
    handle = log.open("wb")
    popen = subprocess.Popen(args, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return Proc(name=name, popen=popen, log=log)


async def _wait_http(url: str, proc: Proc, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited during start-up:\n{proc.tail()}")
            try:
                if (await client.get(f"{url}/v1/health-check")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{proc.name} did not answer at {url} within {timeout:.0f}s:\n{proc.tail()}")


async def _app_database(exits: AsyncExitStack, tmp: Path) -> tuple[str, str]:
    """(URL, backend): a throwaway database on the PostgreSQL server named by TIDINGS_DATABASE_URL, or
    an SQLite file in the run's temp dir."""
    configured = os.environ.get("TIDINGS_DATABASE_URL", "")
    if not configured.startswith("postgres"):
        return f"sqlite+aiosqlite:///{tmp / 'tidings.db'}", "sqlite"
    import asyncpg

    parts = urlsplit(configured)
    admin = urlunsplit(parts._replace(scheme="postgresql"))
    name = f"tidings_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    exits.push_async_callback(drop)
    url = urlunsplit(parts._replace(scheme="postgresql+asyncpg", path=f"/{name}"))
    return url, "postgresql"


def email_step(step_id: str, subject: str, content: str) -> dict[str, Any]:
    return {
        "_id": step_id,
        "uuid": step_id,
        "active": True,
        "template": {"type": "email", "subject": subject, "content": content},
    }


def in_app_step(step_id: str, content: str) -> dict[str, Any]:
    return {
        "_id": step_id,
        "uuid": step_id,
        "active": True,
        "template": {"type": "in_app", "content": content},
    }


async def add_definition(
    stack_db: Database, env_id: str, identifier: str, steps: list[dict[str, Any]]
) -> None:
    """A REST notification workflow row (``origin='rest'``), so the benchmarks do not depend on the catalog."""
    from store.models import WorkflowDefinition

    async with stack_db.session() as session:
        session.add(
            WorkflowDefinition(
                environment_id=env_id,
                name=identifier,
                trigger_identifier=identifier,
                origin="rest",
                active=True,
                preference_settings={},
                steps=steps,
                triggers=[{"type": "event", "identifier": identifier, "variables": []}],
            )
        )


async def add_digest_workflow(stack: Stack, window_seconds: float) -> str:
    """[digest (regular window), in_app "{{step.total_count}} events"] under a fresh identifier
    (a new name, so no definition cache in the API can serve an older window)."""
    identifier = f"{DIGEST_WORKFLOW}-{secrets.token_hex(3)}"
    digest = {
        "_id": "d1",
        "uuid": "d1",
        "active": True,
        "template": {"type": "digest"},
        "metadata": {"type": "regular", "amount": round(window_seconds), "unit": "seconds"},
    }
    await add_definition(
        stack.db, stack.env_id, identifier, [digest, in_app_step("s2", "{{step.total_count}} events")]
    )
    return identifier


async def start_stack(exits: AsyncExitStack, *, keep: bool = False) -> Stack:
    """Start every process of a run; everything is stopped (and the temp dir removed) by ``exits``."""
    from store.subscribers import upsert_recipients

    tmp = Path(tempfile.mkdtemp(prefix="tidings-bench-"))
    if not keep:
        exits.callback(shutil.rmtree, tmp, True)
    procs: dict[str, Proc] = {}

    def stop_all() -> None:
        for p in reversed(list(procs.values())):
            p.stop()

    exits.callback(stop_all)
    port = free_port()
    procs["temporal"] = _spawn(
        "temporal",
        dev_server_args(port=port, ui_port=None, db_file=tmp / "temporal.db"),
        dict(os.environ),
        tmp,
    )
    wait_for_port("127.0.0.1", port, timeout=60)
    address = f"127.0.0.1:{port}"
    client = await connect(address, "default")

    url, backend = await _app_database(exits, tmp)
    db = Database(url)
    exits.push_async_callback(db.dispose)
    # Migrated, not create_all(): the API and worker refuse to start on an unmigrated database.
    await asyncio.to_thread(upgrade, url)
    settings = Settings(database_url=url, data_dir=tmp, secret_key=SECRET, temporal_address=address)
    env_id, key, _ = await create_environment_key(db, settings, organization="Bench", environment="Bench")
    await add_definition(db, env_id, INAPP_WORKFLOW, [in_app_step("s1", "Hi {{name}}")])
    await add_definition(db, env_id, EMAIL_WORKFLOW, [email_step("e1", "Hi {{name}}", "<p>Hi {{name}}</p>")])
    async with db.session() as session:
        subs = await upsert_recipients(
            db=db, session=session, environment_id=env_id, recipients=[{"subscriberId": SUBSCRIBER}]
        )
    task_queue = f"tidings-bench-{secrets.token_hex(3)}"
    stack = Stack(
        tmp=tmp,
        address=address,
        client=client,
        db=db,
        db_url=url,
        backend=backend,
        env_id=env_id,
        api_key=key,
        subscriber_pk=subs[SUBSCRIBER].id,
        task_queue=task_queue,
        baseline_queue=f"bench-baseline-{secrets.token_hex(3)}",
        procs=procs,
    )
    base_env = dict(
        os.environ,
        TIDINGS_DATABASE_URL=url,
        TIDINGS_DATA_DIR=str(tmp),
        TIDINGS_SECRET_KEY=SECRET,
        TIDINGS_TEMPORAL_ADDRESS=address,
        TIDINGS_TASK_QUEUE=task_queue,
        PYTHONUNBUFFERED="1",
    )
    # The slow email provider (Resend's API, 200 ms per answer): operator-configured, so the worker may
    # reach it on loopback (TIDINGS_PROVIDER_BASE_URLS is the trusted list).
    provider_port = free_port()
    procs["provider"] = _spawn(
        "provider",
        [sys.executable, "-m", "bench.provider_fake"],
        dict(
            base_env, BENCH_PROVIDER_PORT=str(provider_port), BENCH_PROVIDER_DELAY_MS=str(PROVIDER_DELAY_MS)
        ),
        tmp,
    )
    stack.provider_url = f"http://127.0.0.1:{provider_port}"
    base_env["TIDINGS_PROVIDER_BASE_URLS"] = json.dumps({"resend": stack.provider_url})
    procs["worker"] = _spawn("worker", [sys.executable, "worker.py"], base_env, tmp)
    procs["baseline_worker"] = _spawn(
        "baseline_worker",
        [sys.executable, "-m", "bench.baseline"],
        dict(
            base_env,
            BENCH_TEMPORAL_ADDRESS=address,
            BENCH_DATABASE_URL=url,
            BENCH_TASK_QUEUE=stack.baseline_queue,
        ),
        tmp,
    )
    for name, queue in (("api_sink", f"bench-sink-{secrets.token_hex(3)}"), ("api_live", task_queue)):
        api_port = free_port()
        procs[name] = _spawn(
            name,
            [sys.executable, "-m", "tidings.cli", "api"],
            dict(base_env, TIDINGS_API_PORT=str(api_port), TIDINGS_TASK_QUEUE=queue),
            tmp,
        )
        setattr(stack, "sink_url" if name == "api_sink" else "live_url", f"http://127.0.0.1:{api_port}")
    await _wait_http(stack.sink_url, procs["api_sink"], timeout=180)
    await _wait_http(stack.live_url, procs["api_live"], timeout=180)
    wait_for_port("127.0.0.1", provider_port, timeout=60)
    return stack


async def terminate_running(stack: Stack, id_prefix: str) -> int:
    """Terminate the executions a benchmark gave up on, so their backlog does not slow the next one."""
    query = f'WorkflowId STARTS_WITH "{id_prefix}" AND ExecutionStatus = "Running"'
    ids = [w.id async for w in stack.client.list_workflows(query)]
    sem = asyncio.Semaphore(32)

    async def stop(wid: str) -> None:
        async with sem:
            try:
                await stack.client.get_workflow_handle(wid).terminate("benchmark gave up")
            except Exception:  # noqa: BLE001 - it finished meanwhile
                pass

    await asyncio.gather(*(stop(w) for w in ids))
    return len(ids)


def worker_hint(stack: Stack) -> str:
    """A pointer to the worker's last logged error, for notes on deliveries that did not finish."""
    line = stack.procs["worker"].last_error()
    return f"; the worker's last logged error: {line}" if line else ""


def worker_problem(stack: Stack) -> str:
    """Why the Tidings worker cannot serve (empty when it runs)."""
    p = stack.procs["worker"]
    return "" if p.alive() else f"the Tidings worker exited ({p.popen.returncode}): {p.tail(3)}"
