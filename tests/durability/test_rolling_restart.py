"""The production topology without containers, restarted under load: nothing lost, nothing sent twice.

PostgreSQL (a fresh database) and the session's Temporal dev server (a fresh namespace), prepared by
`tidings setup` (migrations + namespace, retention, search attribute) as a deployment does, then two `tidings api` and two `tidings worker` processes. While triggers arrive at a
steady rate through both APIs, each worker in turn gets SIGTERM (as a rolling restart sends it) with sends in
flight at a slow (300 ms) email provider, exits 0 after draining, and is started again. SendGrid cannot
de-duplicate, so a send cut short would show up as "delivery unconfirmed" (or, if re-sent, twice).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from activities.senders.channel import UNCONFIRMED
from tests.conftest import PG_ADMIN
from tests.fakes.fixtures import fake_fixture, http_fakes_fixture  # noqa: F401  (fixtures)
from tests.fakes.http_api import FakeHttpProviders
from tests.support import eventually
from tidings.devserver import free_port
from tidings.temporal import connect
from workflows.models import execution_id

pytestmark = pytest.mark.slow

MAX_TRIGGERS = 400  # the load stops when both restarts are done, or here
SEND_PATH = "/v3/mail/send"


class Process:
    """One `tidings <command>` subprocess with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], folder: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log = folder / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as sink:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tidings.cli", *self.args, env=self.env, stdout=sink, stderr=sink
            )

    async def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 60)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def run(args: list[str], env: dict[str, str]) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tidings.cli", *args, env=env, stdout=-1, stderr=-1
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    return err.decode() + out.decode()  # the key is stdout's last line


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database: the deployment migrates it itself."""
    name = f"tidings_test_rr_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def ready(url: str) -> bool | None:
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(url)).status_code == 200 or None
    except httpx.TransportError:
        return None


async def test_rolling_worker_restart_under_load_loses_and_duplicates_nothing(
    database_url: str, temporal_address: str, fake: FakeHttpProviders, tmp_path: Path
) -> None:
    fake.latency = 0.3
    namespace = f"fleet-{secrets.token_hex(3)}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    common = {
        **base,
        "TIDINGS_DATABASE_URL": database_url,
        "TIDINGS_TEMPORAL_ADDRESS": temporal_address,
        "TIDINGS_TEMPORAL_NAMESPACE": namespace,
        "TIDINGS_TASK_QUEUE": f"fleet-{secrets.token_hex(3)}",
        "TIDINGS_SECRET_KEY": secrets.token_urlsafe(32),
        "TIDINGS_DATA_DIR": str(tmp_path),
        "TIDINGS_PROVIDER_BASE_URLS": json.dumps({"sendgrid": fake.url}),
        "TIDINGS_WORKER_SHUTDOWN_GRACE": "30",
    }
    await run(["setup"], {**common, "TIDINGS_RETENTION_HOURS": "24"})  # what the compose/Helm setup step runs
    created = await run(["keys", "create", "--environment", "Production"], common)
    env_id = re.search(r"environment Production \((\w+)\)", created)
    assert env_id is not None
    key = created.strip().splitlines()[-1]

    api_ports = [free_port(), free_port()]
    health_ports = [free_port(), free_port()]
    apis = [
        Process(f"api{i}", ["api"], {**common, "TIDINGS_API_PORT": str(port)}, tmp_path)
        for i, port in enumerate(api_ports)
    ]
    workers = [
        Process(
            f"worker{i}",
            ["worker"],
            {**common, "TIDINGS_WORKER_HEALTH_PORT": str(port), "TIDINGS_WORKER_HEALTH_HOST": "127.0.0.1"},
            tmp_path,
        )
        for i, port in enumerate(health_ports)
    ]
    try:
        for process in (*apis, *workers):
            await process.start()
        for port in api_ports:
            await eventually(lambda port=port: ready(f"http://127.0.0.1:{port}/health/ready"), timeout=120)
        for port in health_ports:
            await eventually(lambda port=port: ready(f"http://127.0.0.1:{port}/health/ready"), timeout=120)

        clients = [
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{p}", headers={"Authorization": f"ApiKey {key}"})
            for p in api_ports
        ]
        try:
            await configure(clients[0])
            sent: list[str] = []
            restarted = asyncio.Event()
            load = asyncio.create_task(steady_load(clients, sent, restarted))
            exit_codes = []
            for i, worker in enumerate(workers):

                async def sends_in_flight(after: int = 10 * (i + 1)) -> bool | None:
                    return len(sent) >= after and fake.in_flight > 0 or None

                await eventually(sends_in_flight, timeout=60, interval=0.01)
                exit_codes.append(await worker.stop())
                await worker.start()
                await eventually(lambda i=i: ready(f"http://127.0.0.1:{health_ports[i]}/health/ready"), 120)
            restarted.set()
            await load
        finally:
            for client in clients:
                await client.aclose()

        assert exit_codes == [0, 0], [w.log.read_text()[-2000:] for w in workers]
        for worker in workers:
            assert "stopping: no new tasks" in worker.log.read_text()
        temporal = await connect(temporal_address, namespace)
        for tx in sent:
            await asyncio.wait_for(
                temporal.get_workflow_handle(execution_id(env_id.group(1), tx)).result(), 120
            )
    finally:
        for process in (*apis, *workers):
            await process.kill()

    delivered = Counter(r.json["personalizations"][0]["to"][0]["email"] for r in fake.to(SEND_PATH))
    expected = {f"{tx}@acme.io" for tx in sent}
    assert set(delivered) == expected, f"lost: {expected - set(delivered)}"
    assert [a for a, n in delivered.items() if n > 1] == [], "delivered twice"
    rows = await sql(database_url, "SELECT status, count(*) FROM messages GROUP BY status")
    assert rows == [("sent", len(sent))]
    unconfirmed = await sql(
        database_url, "SELECT count(*) FROM execution_details WHERE detail = $1", UNCONFIRMED
    )
    assert unconfirmed == [(0,)]


async def configure(http: httpx.AsyncClient) -> None:
    """A SendGrid integration as the primary email provider and a one-step email workflow."""
    integration = await http.post(
        "/v1/integrations",
        json={
            "providerId": "sendgrid",
            "channel": "email",
            "credentials": {"apiKey": "k", "from": "fleet@acme.io"},
            "active": True,
        },
    )
    assert integration.status_code == 201, integration.text
    primary = await http.post(f"/v1/integrations/{integration.json()['data']['_id']}/set-primary")
    assert primary.status_code == 200, primary.text
    workflow = await http.post(
        "/v1/workflows",
        json={
            "name": "fleet",
            "active": True,
            "notificationGroup": {"name": "General"},
            "steps": [{"template": {"type": "email", "subject": "hi {{n}}", "content": "message {{n}}"}}],
        },
    )
    assert workflow.status_code == 201, workflow.text


async def steady_load(clients: list[httpx.AsyncClient], sent: list[str], done: asyncio.Event) -> None:
    """One trigger every 50 ms, alternating the two APIs, each to its own subscriber."""
    for n in range(MAX_TRIGGERS):
        if done.is_set():
            return
        tx = f"tx{n:04d}{secrets.token_hex(2)}"
        resp = await clients[n % 2].post(
            "/v1/events/trigger",
            json={
                "name": "fleet",
                "to": {"subscriberId": tx, "email": f"{tx}@acme.io"},
                "payload": {"n": n},
                "transactionId": tx,
            },
        )
        assert resp.status_code == 201, resp.text
        sent.append(tx)
        await asyncio.sleep(0.05)


async def sql(url: str, statement: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return [tuple(r) for r in await conn.fetch(statement, *args)]
    finally:
        await conn.close()
