"""Helpers for the Inbox tests: an in-app workflow, a subscriber session, a client holding its token."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Env, Stack
from tests.test_preferences import add_workflow

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
