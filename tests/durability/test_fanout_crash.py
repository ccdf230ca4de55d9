"""A 10,000-subscriber topic fan-out survives a SIGKILLed worker: exactly 10,000 in-app messages.

The worker runs in its own process (``python worker.py``) on a fresh task queue; an API built on the
test stack's database and Temporal client points at that queue.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from tests.integration.test_fanout import IN_APP, in_app_workflow, message_stats, seed_topic
from tests.support import Env, Stack, eventually
from workflows.models import PROGRESS_QUERY, FanoutProgress, execution_id

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 10_000
log = logging.getLogger("tests.fanout")


@pytest.fixture
def worker_process(
    stack: Stack, pg_url: str, temporal_address: str, tmp_path: Path
) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A task queue and the worker processes started on it (all killed at the end)."""
    queue = f"fanout-crash-{secrets.token_hex(4)}"
    procs: list[subprocess.Popen[bytes]] = []
    yield queue, procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def start_worker(
    stack: Stack, pg_url: str, temporal_address: str, queue: str, log_file: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TIDINGS_DATABASE_URL": pg_url,
        "TIDINGS_TEMPORAL_ADDRESS": temporal_address,
        "TIDINGS_TASK_QUEUE": queue,
        "TIDINGS_SECRET_KEY": stack.settings.secret_key,
        "TIDINGS_SMTP_PORT": str(stack.mailbox.port),
    }
    with log_file.open("ab") as out:
        return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=out, stderr=out)


async def test_sigkill_mid_fanout_delivers_exactly_once(
    stack: Stack,
    pg_url: str,
    temporal_address: str,
    tmp_path: Path,
    worker_process: tuple[str, list[subprocess.Popen[bytes]]],
) -> None:
    queue, procs = worker_process
    env: Env = await stack.new_env()
    await in_app_workflow(stack, env)
    await seed_topic(env, "ten-thousand", TOTAL)
    settings = stack.settings.model_copy(update={"task_queue": queue})
    app = create_app(settings, db=stack.db, temporal=stack.client)
    worker_log = tmp_path / "worker.log"
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://tidings.test",
            headers={"Authorization": f"ApiKey {env.key}"},
            timeout=60,
        ) as http,
    ):
        procs.append(start_worker(stack, pg_url, temporal_address, queue, worker_log))
        tx = f"crash-{secrets.token_hex(4)}"
        started = time.monotonic()
        resp = await http.post(
            "/v1/events/trigger",
            json={"name": IN_APP, "to": [{"type": "Topic", "topicKey": "ten-thousand"}], "transactionId": tx},
        )
        assert resp.status_code == 201, resp.text

        async def partly_delivered() -> int | None:
            sent = (await message_stats(env, tx))[0]
            return sent if sent >= TOTAL // 5 else None

        at_kill = await eventually(partly_delivered, timeout=90, interval=0.05)
        handle = stack.client.get_workflow_handle(execution_id(env.id, tx))
        progress = await handle.query(PROGRESS_QUERY, result_type=FanoutProgress)
        assert progress.total == TOTAL and progress.done < TOTAL
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(timeout=10)
        assert at_kill < TOTAL, "the fan-out finished before the worker could be killed"

        procs.append(start_worker(stack, pg_url, temporal_address, queue, worker_log))
        result = await asyncio.wait_for(handle.result(), 180)
        elapsed = time.monotonic() - started
        log.warning("10k fan-out with a SIGKILL at %d messages took %.1fs", at_kill, elapsed)

        assert result["subscribers"] == TOTAL
        assert await message_stats(env, tx) == (TOTAL, TOTAL)
        notifications = await env.sql(
            "select count(*), count(distinct subscriber_id) from notifications where transaction_id = :tx",
            tx=tx,
        )
        assert tuple(notifications[0]) == (TOTAL, TOTAL)
        view = (await http.get(f"/v1/events/trigger/{tx}/progress")).json()["data"]
        assert view["total"] == TOTAL and view["done"] == TOTAL and view["messages"] == TOTAL
