"""A worker killed after the provider accepted a send and before the activity completed: still one send.

The worker runs in its own process on a fresh task queue. The fake provider records the request and
stalls its answer; the test kills the worker, starts another, and the retried activity finds the
message row left ``sending``. Resend and OneSignal (which de-duplicate on our key) get the same key
again: Resend answers 409 "in progress" until the first request completes, then replays its answer;
OneSignal holds the repeat and returns the first result. SendGrid and Twilio (which cannot
de-duplicate) are not called again and the message is marked unconfirmed. In every case the provider
acted on exactly one request, counted independently of how many requests and keys it received.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from tests.fakes.fixtures import (  # noqa: F401  (fixtures)
    add_integration,
    add_workflow,
    details,
    fake_fixture,
    http_fakes_fixture,
    set_channels,
)
from tests.fakes.http_api import FakeHttpProviders
from tests.support import Mailbox, Stack, eventually

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
        "TIDINGS_PROVIDER_BASE_URLS": json.dumps(
            {p: fake.url for p in ("resend", "sendgrid", "twilio", "one-signal")}
        ),
        "TIDINGS_PROVIDER_TIMEOUT_SECONDS": "20",
        # The test's own SMTP servers and fakes listen on loopback (as under `tidings dev`).
        "TIDINGS_ALLOW_PRIVATE_DESTINATIONS": "true",
    }


CASES = {
    # provider: (channel, path the fake records, de-duplicates on our key)
    "resend": ("email", "/emails", True),
    "sendgrid": ("email", "/v3/mail/send", False),
    "twilio": ("sms", "/Messages.json", False),
    "one-signal": ("push", "/notifications", True),
}
CREDENTIALS = {
    "resend": {"apiKey": "k", "from": "a@acme.io"},
    "sendgrid": {"apiKey": "k", "from": "a@acme.io"},
    "twilio": {"accountSid": "ACcrash", "token": "t", "from": "+1555"},
    "one-signal": {"applicationId": "app", "apiKey": "k"},
}


async def crash_workflow(env: Any, provider_id: str, integration: dict[str, Any]) -> dict[str, Any]:
    """The trigger body for a workflow with one step on the provider's channel."""
    channel = CASES[provider_id][0]
    to: dict[str, Any] = {"subscriberId": "crash", "email": "crash@example.com", "phone": "+1999"}
    if channel == "email":
        return {"name": "welcome", "to": to, "payload": {"name": "C"}, "transactionId": "crash-1"}
    step = {"type": channel, "content": "Hello", "title": "Hi"}
    await add_workflow(env, f"crash-{channel}", [step])
    if channel == "push":
        entry = {"providerId": provider_id, "_integrationId": integration["_id"]}
        await set_channels(env, "crash", [{**entry, "credentials": {"deviceTokens": ["player-1"]}}])
        to = {"subscriberId": "crash"}
    return {"name": f"crash-{channel}", "to": to, "payload": {}, "transactionId": "crash-1"}


@pytest.mark.parametrize("provider_id", list(CASES))
async def test_killed_worker_sends_once(
    stack: Stack,
    fake: FakeHttpProviders,
    worker_env: dict[str, str],
    tmp_path: Path,
    provider_id: str,
) -> None:
    channel, path, idempotent = CASES[provider_id]
    env = await stack.new_env()
    integration = await add_integration(env, provider_id, channel, CREDENTIALS[provider_id])
    if channel in ("email", "sms"):
        assert (await env.http.post(f"/v1/integrations/{integration['_id']}/set-primary")).status_code == 200
    body = await crash_workflow(env, provider_id, integration)
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
            assert (await api.post("/v1/events/trigger", json=body)).status_code == 201

            async def accepted() -> Any:
                return fake.to(path)

            await eventually(accepted, timeout=60)
            first.kill()
            second.start()
            if provider_id == "resend":
                # Resend answers the retry 409 "in progress" while the first request is held; Tidings
                # must ask again later (same key) rather than give up or fail over. More 409s than one
                # activity attempt makes means Temporal retried the activity: it did not fail over.
                attempts = stack.settings.provider_attempts
                await eventually(lambda: _answered(fake, path, 409, attempts + 1), timeout=60)
                fake.release()
            elif provider_id == "one-signal":
                # OneSignal holds the repeat until the first request's result exists, then returns it.
                await eventually(lambda: _received(fake, path, 2), timeout=60)
                fake.release()
            result = await env.settle("crash-1", timeout=120)
        assert result["steps"]
    finally:
        fake.release()
        first.kill()
        second.kill()
    requests = fake.to(path)
    (row,) = await env.sql(
        "select status, provider_message_id from messages where transaction_id = 'crash-1' and channel = :c",
        c=channel,
    )
    rows = await details(env, "crash-1")
    keys = {
        r.headers.get("idempotency-key") or (r.json.get("idempotency_key") if idempotent else None)
        for r in requests
    }
    assert len([r for r in fake.delivered if path in r.path]) == 1  # one message reached the provider
    if idempotent:
        assert len(requests) >= 2 and len(keys) == 1  # re-sent, always with the same key
        assert row.status == "sent"
        first_answer = next(b for r, s, b in fake.answers if s == 200 and path in r.path)
        assert row.provider_message_id == first_answer["id"]  # the original send's id, replayed
    else:
        assert len(requests) == 1  # never re-sent
        assert row.status == "warning"
        assert any(r.detail == "Message delivery unconfirmed" for r in rows)
    if provider_id == "resend":
        conflicts = [b for r, s, b in fake.answers if s == 409]
        assert conflicts and {b["name"] for b in conflicts} == {"concurrent_idempotent_requests"}
        assert not any(r.detail == "Message delivery unconfirmed" for r in rows)
        assert stack.mailbox.to("crash@example.com") == []  # no copy through the SMTP fallback


async def _answered(fake: FakeHttpProviders, path: str, status: int, count: int) -> bool:
    return len(fake.answered(path, status)) >= count


async def _received(fake: FakeHttpProviders, path: str, count: int) -> bool:
    return len(fake.to(path)) >= count


class StallingMailbox(Mailbox):
    """An SMTP server that holds every message after its DATA until ``release``: the sender cannot
    know whether it was accepted, as when a worker dies mid-conversation."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[Any] = []
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrived.append(envelope)
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 120)
        return await super().handle_DATA(server, session, envelope)


async def test_killed_worker_sends_smtp_once(
    stack: Stack, worker_env: dict[str, str], tmp_path: Path
) -> None:
    """SMTP cannot de-duplicate: the retried activity never opens a second conversation and marks the
    message unconfirmed."""
    smtp = StallingMailbox()
    smtp.start()
    env = await stack.new_env()
    integration = await add_integration(
        env, "nodemailer", "email", {"host": "127.0.0.1", "port": smtp.port, "from": "a@acme.io"}
    )
    assert (await env.http.post(f"/v1/integrations/{integration['_id']}/set-primary")).status_code == 200
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
                "to": {"subscriberId": "crash", "email": "smtp-crash@example.com"},
                "payload": {"name": "C"},
                "transactionId": "crash-smtp",
            }
            assert (await api.post("/v1/events/trigger", json=body)).status_code == 201

            async def arrived() -> bool:
                return bool(smtp.arrived)

            await eventually(arrived, timeout=60)
            first.kill()
            second.start()
            await env.settle("crash-smtp", timeout=120)
    finally:
        smtp.release.set()
        first.kill()
        second.kill()
        smtp.stop()
    # One conversation reached DATA (the killed worker's, whose connection then dropped): the retry
    # never opened another.
    assert len(smtp.arrived) == 1
    assert stack.mailbox.to("smtp-crash@example.com") == []  # and it did not fail over either
    (row,) = await env.sql(
        "select status from messages where transaction_id = 'crash-smtp' and channel = 'email'"
    )
    assert row.status == "warning"
    assert any(r.detail == "Message delivery unconfirmed" for r in await details(env, "crash-smtp"))
