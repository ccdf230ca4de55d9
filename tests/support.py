"""Test helpers: a running Tidings stack (app DB, worker, API) and per-test environments.

Everything here is real: PostgreSQL or SQLite, a Temporal dev server, an aiosmtpd server on loopback.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import text
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from store.db import Database
from tidings.bootstrap import create_environment_key
from tidings.settings import Settings
from workflows.models import execution_id

TABLES = [
    "message_events",
    "webhook_deliveries",
    "webhook_endpoints",
    "idempotency_keys",
    "rate_limit_windows",
    "recurring_schedules",
    "translations",
    "digest_events",
    "cancelled_transactions",
    "throttle_hits",
    "execution_details",
    "messages",
    "notifications",
    "topic_subscribers",
    "topics",
    "subscriber_preferences",
    "workflow_overrides",
    "workflow_definitions",
    "notification_groups",
    "layouts",
    "feeds",
    "integrations",
    "subscribers",
    "tenants",
    "api_keys",
    "environments",
    "organizations",
]


class OwnPortController(Controller):
    """Binds port 0 and reads back the port the OS chose, so no other process can take it between
    choosing and binding (as it could with a probe-then-rebind ``free_port()``)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class Mailbox:
    """An aiosmtpd server on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []
        self._event = threading.Event()
        self.controller = OwnPortController(self, hostname="127.0.0.1", port=0)

    @property
    def port(self) -> int:
        """The bound port (known once :meth:`start` returned)."""
        return int(self.controller.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def clear(self) -> None:
        """Forget what was received (after every test, so counts never see an earlier test's mail)."""
        self.messages.clear()
        self.envelopes.clear()

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    async def wait_for(self, count: int, address: str | None = None, timeout: float = 15.0) -> list[Any]:
        async def check() -> list[Any] | None:
            found = self.to(address) if address else self.messages
            return found if len(found) >= count else None

        return await eventually(check, timeout=timeout)


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 15.0, interval: float = 0.05
) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the last value after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
        await asyncio.sleep(interval)


@dataclass
class Env:
    """One tenant environment with its API key and an HTTP client that authenticates as it."""

    stack: Stack
    id: str
    key: str
    http: httpx.AsyncClient

    async def trigger(
        self, name: str, to: Any, payload: dict[str, Any] | None = None, **extra: Any
    ) -> httpx.Response:
        body = {"name": name, "to": to, "payload": payload or {}, **extra}
        return await self.http.post("/v1/events/trigger", json=body)

    async def settle(self, transaction_id: str, timeout: float = 30.0) -> Any:
        """Wait for the transaction's Temporal execution to finish and return its result. A trigger the
        API handed straight to its digest (docs/digest.md) has no execution: it is settled once the
        accumulator has recorded it (then ``settle_digests`` can wait for its window), and returns None."""
        handle = self.stack.client.get_workflow_handle(execution_id(self.id, transaction_id))
        try:
            return await asyncio.wait_for(handle.result(), timeout)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise

        async def recorded() -> bool:
            rows = await self.sql(
                "select 1 from digest_events where environment_id = :e and transaction_id = :t",
                e=self.id,
                t=transaction_id,
            )
            return bool(rows)

        await eventually(recorded, timeout=timeout)
        return None

    async def feed(self, subscriber_id: str, **params: Any) -> dict[str, Any]:
        resp = await self.http.get(f"/v1/subscribers/{subscriber_id}/notifications/feed", params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.stack.db.session() as session:
            return list((await session.exec(text(statement), params=params)).all())  # type: ignore[call-overload]


@dataclass
class Stack:
    """App DB + worker + API for one database backend, sharing the session's Temporal server."""

    name: str
    db: Database
    client: Client
    settings: Settings
    app: FastAPI
    worker: Worker
    mailbox: Mailbox
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    def http_client(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"ApiKey {key}"} if key else {}
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://tidings.test",
            headers=headers,
            timeout=60,
        )
        self._clients.append(client)
        return client

    async def new_env(self, name: str | None = None) -> Env:
        env_name = name or f"env-{secrets.token_hex(4)}"
        env_id, key, _ = await create_environment_key(
            self.db, self.settings, organization=f"org-{secrets.token_hex(4)}", environment=env_name
        )
        return Env(stack=self, id=env_id, key=key, http=self.http_client(key))

    async def truncate(self) -> None:
        """Empty every table; retried, because an execution still finishing can hold a lock briefly."""
        for attempt in range(5):
            try:
                async with self.db.session() as session:
                    if self.db.is_sqlite:
                        for table in TABLES:
                            await session.exec(text(f"DELETE FROM {table}"))  # type: ignore[call-overload]
                    else:
                        await session.exec(text("SET LOCAL lock_timeout = '5s'"))  # type: ignore[call-overload]
                        await session.exec(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))  # type: ignore[call-overload]
                break
            except Exception:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.5)
        self.app.state.key_cache.clear()
        throttle = getattr(self.app.state, "auth_throttle", None)
        if throttle is not None:  # one test's failed authentications do not lock the next test out
            throttle.failures.clear()
        self.mailbox.clear()

    async def close_clients(self) -> None:
        for c in self._clients:
            await c.aclose()
        self._clients.clear()


def make_settings(
    *, database_url: str, task_queue: str, smtp_port: int, data_dir: str, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "task_queue": task_queue,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "secret_key": "test-secret-" + task_queue,
        "data_dir": data_dir,
        # The provider fakes listen on 127.0.0.1; tests/integration/test_outbound.py turns this off.
        "allow_private_destinations": True,
    }
    values.update(extra)
    return Settings(**values)
