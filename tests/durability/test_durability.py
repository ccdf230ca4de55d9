"""A pending delay and an open digest survive a SIGKILLed worker and a restarted Temporal server, and
each still delivers exactly once."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from api.app import create_app
from tests.support import Env, Stack, eventually
from tests.timing_support import define, details, digest, in_app, in_app_contents, settle_digests, step
from tidings.devserver import dev_server_args, free_port, wait_for_port
from tidings.startup import wait_for_temporal
from worker import build_worker
from workflows.models import execution_id

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; whatever still runs at the end is killed."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def start_worker(stack: Stack, pg_url: str, address: str, queue: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TIDINGS_DATABASE_URL": pg_url,
        "TIDINGS_TEMPORAL_ADDRESS": address,
        "TIDINGS_TASK_QUEUE": queue,
        "TIDINGS_SECRET_KEY": stack.settings.secret_key,
        "TIDINGS_SMTP_PORT": str(stack.mailbox.port),
    }
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=out, stderr=out)


def start_server(args: list[str], port: int) -> subprocess.Popen[bytes]:
    """A Temporal dev server on its SQLite file, listening when this returns."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port("127.0.0.1", port)
    return proc


@asynccontextmanager
async def api_env(stack: Stack, client: Client, queue: str) -> AsyncIterator[Env]:
    """An environment whose triggers go to ``queue`` through an API built on ``client``."""
    base = await stack.new_env()
    settings = stack.settings.model_copy(update={"task_queue": queue})
    app = create_app(settings, db=stack.db, temporal=client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://tidings.test",
            headers={"Authorization": f"ApiKey {base.key}"},
            timeout=60,
        ) as http,
    ):
        yield Env(stack=stack, id=base.id, key=base.key, http=http)


async def start_pending_work(env: Env, window: int) -> None:
    """A delay and a digest window, both pending when this returns."""
    await define(
        env,
        "durable-delay",
        [
            step("wait", "delay", type="regular", amount=window, unit="seconds"),
            in_app("after", "delayed once"),
        ],
    )
    await define(
        env, "durable-digest", [digest(amount=window), in_app("after", "{{ step.total_count }} events")]
    )
    assert (await env.trigger("durable-delay", "dura", {}, transactionId="dur-delay")).status_code == 201
    for i in range(3):
        assert (
            await env.trigger("durable-digest", "digi", {"i": i}, transactionId=f"dur-dig-{i}")
        ).status_code == 201

    async def pending() -> bool:
        delayed = "Step delayed" in await details(env, "dur-delay")
        digested = [("Step digested" in await details(env, f"dur-dig-{i}")) for i in range(3)]
        return delayed and all(digested)

    await eventually(pending, timeout=60)
    assert await in_app_contents(env, "dura") == [] and await in_app_contents(env, "digi") == []


async def delivered_once(env: Env, client: Client) -> None:
    """Every execution finished (the delay's, the digest triggers', the accumulator's and what its window
    started), then count: nothing can arrive later."""
    await asyncio.wait_for(client.get_workflow_handle(execution_id(env.id, "dur-delay")).result(), 90)
    # The digest triggers went through the front door (no execution of their own): recorded already.
    await settle_digests(env, timeout=90, client=client)
    assert await in_app_contents(env, "dura") == ["delayed once"]
    assert await in_app_contents(env, "digi") == ["3 events"]


async def test_worker_sigkill_keeps_delay_and_digest(
    stack: Stack, pg_url: str, temporal_address: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    queue = f"durable-{secrets.token_hex(4)}"
    log = tmp_path / "worker.log"
    processes.append(start_worker(stack, pg_url, temporal_address, queue, log))
    async with api_env(stack, stack.client, queue) as env:
        await start_pending_work(env, window=6)
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(timeout=10)
        await asyncio.sleep(1)
        processes.append(start_worker(stack, pg_url, temporal_address, queue, log))
        await delivered_once(env, stack.client)


async def test_temporal_server_restart_keeps_delay_and_digest(
    stack: Stack, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    args = dev_server_args(port=port, ui_port=None, db_file=tmp_path / "temporal.db")
    processes.append(start_server(args, port))
    # A fresh server opens its port before its frontend is healthy: connect as the worker does, retrying.
    client = await wait_for_temporal(
        stack.settings.model_copy(
            update={"temporal_address": f"127.0.0.1:{port}", "startup_timeout_seconds": 60}
        )
    )
    queue = f"restart-{secrets.token_hex(4)}"
    settings = stack.settings.model_copy(update={"task_queue": queue})
    async with (
        build_worker(client=client, db=stack.db, settings=settings),
        api_env(stack, client, queue) as env,
    ):
        await start_pending_work(env, window=8)
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(timeout=10)
        processes.append(start_server(args, port))
        await delivered_once(env, client)


async def test_worker_sigkill_keeps_throttle_and_cancel(
    stack: Stack, pg_url: str, temporal_address: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    """Cancels requested while no worker runs, and throttles decided by the next worker: the cancelled
    delay never sends, the cancelled digest event is left out, and the throttle still admits exactly
    its threshold (its hits live in the app database, not in a worker)."""
    queue = f"durable-tc-{secrets.token_hex(4)}"
    log = tmp_path / "worker.log"
    processes.append(start_worker(stack, pg_url, temporal_address, queue, log))
    async with api_env(stack, stack.client, queue) as env:
        await define(
            env,
            "durable-throttle",
            [
                step("wait", "delay", type="regular", amount=1, unit="seconds"),
                step("limit", "throttle", threshold=2, amount=1, unit="hours"),
                in_app("after", "{{ n }}"),
            ],
        )
        # An hour-long delay: it is cancelled, so the test never waits for it.
        await define(
            env,
            "durable-cancel",
            [step("wait", "delay", type="regular", amount=1, unit="hours"), in_app("after", "not cancelled")],
        )
        await define(
            env,
            "durable-cdigest",
            [digest(amount=10), in_app("after", "{% for e in step.events %}{{ e.n }}{% endfor %}")],
        )
        for i in range(4):
            assert (
                await env.trigger("durable-throttle", "thr", {"n": i}, transactionId=f"dt-{i}")
            ).status_code == 201
        assert (await env.trigger("durable-cancel", "can", {}, transactionId="dc-0")).status_code == 201
        for i in range(3):
            assert (
                await env.trigger("durable-cdigest", "dig", {"n": i}, transactionId=f"dd-{i}")
            ).status_code == 201

        async def pending() -> bool:
            delayed = "Step delayed" in await details(env, "dc-0")
            digested = [("Step digested" in await details(env, f"dd-{i}")) for i in range(3)]
            return delayed and all(digested)

        await eventually(pending, timeout=60)
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(timeout=10)
        for tx in ("dc-0", "dd-1"):
            resp = await env.http.delete(f"/v1/events/trigger/{tx}")
            assert resp.status_code == 200 and resp.json() == {"data": True}, resp.text
        processes.append(start_worker(stack, pg_url, temporal_address, queue, log))

        for i in range(4):
            await env.settle(f"dt-{i}", timeout=90)
        assert sorted(await in_app_contents(env, "thr")) in ([a, b] for a in "0123" for b in "0123" if a < b)
        throttled = await env.sql(
            "select count(*) from execution_details where environment_id = :e and detail like 'Step throttled%'",
            e=env.id,
        )
        assert throttled[0][0] == 2
        handle = stack.client.get_workflow_handle(execution_id(env.id, "dc-0"))

        async def cancelled() -> bool:
            return (await handle.describe()).status == WorkflowExecutionStatus.CANCELED

        await eventually(cancelled, timeout=60)
        assert await in_app_contents(env, "can") == []
        for i in (0, 2):
            await env.settle(f"dd-{i}", timeout=90)
        await settle_digests(env, timeout=90)
        (sent,) = await in_app_contents(env, "dig")  # one digest, in arrival order, without event 1
        assert sorted(sent) == ["0", "2"]


async def test_worker_sigkill_mid_window_sends_one_front_door_digest(
    stack: Stack, pg_url: str, temporal_address: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    """Front-door digest events (docs/digest.md): three recorded by the first worker, which is then
    SIGKILLed; two more accepted while no worker runs (they wait in the accumulator's history). The next
    worker records them and fires the window once: one message with all five events."""
    queue = f"durable-front-{secrets.token_hex(4)}"
    log = tmp_path / "worker.log"
    processes.append(start_worker(stack, pg_url, temporal_address, queue, log))
    async with api_env(stack, stack.client, queue) as env:
        await define(
            env,
            "durable-front",
            [
                digest(amount=20),
                in_app("after", "{{ step.total_count }}:{% for e in step.events %}{{ e.n }}{% endfor %}"),
            ],
        )
        for i in range(3):
            resp = await env.trigger("durable-front", "frank", {"n": i}, transactionId=f"df-{i}")
            assert resp.status_code == 201, resp.text

        async def recorded() -> bool:
            return all(["Step digested" in await details(env, f"df-{i}") for i in range(3)])

        await eventually(recorded, timeout=60)
        # The details commit inside the record activity, before it reports back: a kill in that gap
        # leaves the activity to time out (start_to_close, minutes) before its retry. "Recorded by the
        # first worker" means the accumulator has heard the activity finish.
        (accumulator,) = await env.sql(
            "select distinct accumulator_id from digest_events where environment_id = :e", e=env.id
        )
        handle = stack.client.get_workflow_handle(accumulator[0])

        async def idle() -> bool:
            return not (await handle.describe()).raw_description.pending_activities

        await eventually(idle, timeout=60)
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(timeout=10)
        for i in range(3, 5):
            resp = await env.trigger("durable-front", "frank", {"n": i}, transactionId=f"df-{i}")
            assert resp.status_code == 201, resp.text
        processes.append(start_worker(stack, pg_url, temporal_address, queue, log))
        for i in range(5):
            await env.settle(f"df-{i}", timeout=90)
        await settle_digests(env, timeout=90)
        assert await in_app_contents(env, "frank") == ["5:01234"]
