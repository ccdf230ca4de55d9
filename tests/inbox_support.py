"""Helpers for the Inbox tests: an in-app workflow, a subscriber session, a client holding its token."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import socketio
import uvicorn

from api.app import create_app
from tests.integration.test_preferences import add_workflow
from tests.support import Env, Stack, eventually
from tidings.devserver import free_port
from tidings.settings import Settings

BUTTONS = {
    "type": "redirect",
    "data": {"url": "/tasks/1"},
    "action": {
        "buttons": [
            {"type": "primary", "content": "Accept", "url": "https://example.com/accept"},
            {"type": "secondary", "content": "Decline"},
        ]
    },
}


def in_app_step(content: str = "Hello {{payload.name}}", **template: Any) -> dict[str, Any]:
    return {"_id": "inbox", "active": True, "template": {"type": "in_app", "content": content, **template}}


async def in_app_workflow(stack: Stack, env: Env, identifier: str = "comment", **template: Any) -> str:
    """A workflow with one in-app step (tagged ``t`` by ``add_workflow``)."""
    return await add_workflow(stack, env, identifier, steps=[in_app_step(**template)])


async def app_id(env: Env) -> str:
    resp = await env.http.get("/v1/environments/me")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["data"]["applicationIdentifier"])


async def open_session(env: Env, subscriber_id: str, **body: Any) -> tuple[httpx.AsyncClient, dict[str, Any]]:
    """``POST /v1/inbox/session`` as the browser does; returns a client sending the token, and the answer."""
    anonymous = env.stack.http_client()
    resp = await anonymous.post(
        "/v1/inbox/session",
        json={"applicationIdentifier": await app_id(env), "subscriberId": subscriber_id, **body},
    )
    assert resp.status_code == 201, resp.text
    data = resp.json()["data"]
    client = env.stack.http_client()
    client.headers["Authorization"] = f"Bearer {data['token']}"
    return client, data


async def deliver(env: Env, workflow: str, subscriber_id: str, n: int, prefix: str, **extra: Any) -> None:
    for i in range(n):
        resp = await env.trigger(
            workflow, subscriber_id, {"name": f"#{i}"}, transactionId=f"{prefix}-{i}", **extra
        )
        assert resp.status_code == 201, resp.text
        await env.settle(f"{prefix}-{i}")


@contextlib.asynccontextmanager
async def serve_api(stack: Stack, temporal_address: str, **settings: Any) -> AsyncIterator[str]:
    """Another API process for ``stack``'s database (its own app, event loop and socket server) served by
    uvicorn on a free port, as a load-balanced replica would be. Waits without blocking this loop, whose
    worker may hold the SQLite write lock meanwhile."""
    port = free_port()
    values = stack.settings.model_dump()
    values.update(temporal_address=temporal_address, api_port=port, **settings)
    app = create_app(Settings(**values))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("API replica did not start")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)


class SocketInbox:
    """A python-socketio client connected the way ``@novu/js`` connects, recording what it receives."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        for name in ("notification_received", "unseen_count_changed", "unread_count_changed"):
            self.client.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Any:
        async def record(data: Any) -> None:
            self.events.append((name, data))

        return record

    async def connect(self, url: str, token: str) -> SocketInbox:
        await self.client.connect(f"{url}?token={token}", transports=["websocket"], socketio_path="socket.io")
        return self

    async def close(self) -> None:
        await self.client.disconnect()

    def of(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    async def wait_for(self, name: str, check: Any = lambda data: True, timeout: float = 20.0) -> Any:
        async def found() -> Any:
            return next((d for d in self.of(name) if check(d)), None)

        return await eventually(found, timeout=timeout)
