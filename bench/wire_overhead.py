"""``python -m bench.wire_overhead``: what declaring response models costs a route (issue 16 item 5).

Serves the same answers through two routes in one app, one with the route's response model (validated and
serialized by pydantic, ``exclude_unset``) and one returning the dict as before (``jsonable_encoder``), and
prints the CPU time per request of each and their ratio, measured in the same run: the trigger answer (the
hot path) and an Inbox page of 50 notifications (the largest document a route sends often).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from fastapi import FastAPI

from api.responses import TriggerOut
from api.responses_v2 import InboxList
from api.wire import Data, WireRouter

REQUESTS = 400

TRIGGER = {"data": {"acknowledged": True, "status": "processed", "transactionId": "tx-1"}}


def inbox_page(size: int = 50) -> dict[str, Any]:
    item = {
        "id": "65f0c0ffee",
        "transactionId": "tx-1",
        "subject": "New comment",
        "body": "Ada commented on your post",
        "to": {"id": "s1", "subscriberId": "sub-1", "firstName": "Ada"},
        "isRead": False,
        "isSeen": True,
        "isArchived": False,
        "isSnoozed": False,
        "createdAt": "2026-12-01T03:00:00.000Z",
        "primaryAction": {"label": "Open", "isCompleted": False, "redirect": {"url": "/posts/1"}},
        "channelType": "in_app",
        "tags": ["social"],
        "data": {"postId": 1},
        "workflow": {"id": "w1", "identifier": "comment", "name": "Comment", "critical": False, "tags": []},
        "severity": "none",
    }
    return {"data": [dict(item, id=f"m{i}") for i in range(size)], "hasMore": True, "filter": {}}


def build() -> FastAPI:
    app = FastAPI()
    router = WireRouter()
    page = inbox_page()

    @router.post("/modelled/trigger", response_model=Data[TriggerOut])
    async def modelled_trigger() -> dict[str, Any]:
        return TRIGGER

    @router.post("/plain/trigger")
    async def plain_trigger() -> dict[str, Any]:
        return TRIGGER

    @router.get("/modelled/inbox", response_model=InboxList)
    async def modelled_inbox() -> dict[str, Any]:
        return page

    @router.get("/plain/inbox")
    async def plain_inbox() -> dict[str, Any]:
        return page

    app.include_router(router)
    return app


async def cpu_per_request(client: httpx.AsyncClient, method: str, path: str) -> float:
    for _ in range(20):  # warm-up
        await client.request(method, path)
    start = time.process_time()
    for _ in range(REQUESTS):
        response = await client.request(method, path)
        assert response.status_code == 200, response.text
    return (time.process_time() - start) / REQUESTS * 1000


async def main() -> None:
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for name, method in (("trigger", "POST"), ("inbox", "GET")):
            plain = await cpu_per_request(client, method, f"/plain/{name}")
            modelled = await cpu_per_request(client, method, f"/modelled/{name}")
            print(f"{name:8} plain {plain:.3f} ms  modelled {modelled:.3f} ms  ratio {modelled / plain:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
