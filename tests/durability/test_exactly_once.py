"""A worker killed after the provider accepted a send and before the activity completed: still one send.

The worker runs in its own process on a fresh task queue. The fake provider records the request and
stalls its answer; the test kills the worker, starts another, and the retried activity finds the
message row left ``sending``: Resend (which de-duplicates on ``Idempotency-Key``) gets the same key
again, SendGrid (which cannot) is not called again and the message is marked unconfirmed.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from tests.fakes.fixtures import add_integration, details, fake_fixture, http_fakes_fixture  # noqa: F401  (fixtures)
from tests.fakes.http_api import FakeHttpProviders
from tests.support import Stack, eventually

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "worker.py"], cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture
def worker_env(
    stack: Stack, pg_url: str, temporal_address: str, fake: FakeHttpProviders
) -> Iterator[dict[str, str]]:
    queue = f"crash-{secrets.token_hex(4)}"
    yield {
        **os.environ,
        "TIDINGS_DATABASE_URL": pg_url,
        "TIDINGS_TEMPORAL_ADDRESS": temporal_address,
        "TIDINGS_TASK_QUEUE": queue,
        "TIDINGS_SECRET_KEY": stack.settings.secret_key,
        "TIDINGS_SMTP_PORT": str(stack.mailbox.port),
        "TIDINGS_PROVIDER_BASE_URLS": json.dumps({"resend": fake.url, "sendgrid": fake.url}),
        "TIDINGS_PROVIDER_TIMEOUT_SECONDS": "20",
    }


@pytest.mark.parametrize(("provider_id", "path"), [("resend", "/emails"), ("sendgrid", "/v3/mail/send")])
async def test_killed_worker_sends_once(
    stack: Stack,
    fake: FakeHttpProviders,
    worker_env: dict[str, str],
    tmp_path: Path,
    provider_id: str,
    path: str,
) -> None:
    env = await stack.new_env()
    integration = await add_integration(env, provider_id, "email", {"apiKey": "k", "from": "a@acme.io"})
    assert (await env.http.post(f"/v1/integrations/{integration['_id']}/set-primary")).status_code == 201
    fake.stall(path)
    first, second = (
        WorkerProcess(worker_env, tmp_path / "w1.log"),
        WorkerProcess(worker_env, tmp_path / "w2.log"),
    )
    app = create_app(
        stack.settings.model_copy(update={"task_queue": worker_env["TIDINGS_TASK_QUEUE"]}),
        db=stack.db,
        temporal=stack.client,
    )
    try:
        first.start()
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://t",
                headers={"Authorization": f"ApiKey {env.key}"},
            ) as api,
        ):
            body = {
                "name": "welcome",
                "to": {"subscriberId": "crash", "email": "crash@example.com"},
                "payload": {"name": "C"},
                "transactionId": "crash-1",
            }
            assert (await api.post("/v1/events/trigger", json=body)).status_code == 201

            async def accepted() -> Any:
                return fake.to(path)

            await eventually(accepted, timeout=60)
            first.kill()
            second.start()
            result = await env.settle("crash-1", timeout=120)
        assert result["steps"]
    finally:
        fake.release()
        first.kill()
        second.kill()
    requests = fake.to(path)
    (row,) = await env.sql(
        "select status from messages where transaction_id = 'crash-1' and channel = 'email'"
    )
    rows = await details(env, "crash-1")
    if provider_id == "resend":
        assert len(requests) == 2 and len({r.headers["idempotency-key"] for r in requests}) == 1
        assert fake.deliveries == 1  # the provider de-duplicated the retry
        assert row.status == "sent"
    else:
        assert len(requests) == 1  # never re-sent
        assert row.status == "warning"
        assert any(r.detail == "Message delivery unconfirmed" for r in rows)
