"""``/v1/events``: trigger (and, later, bulk, broadcast and cancel)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.deps import CurrentEnv
from api.triggering import TriggerBody, TriggerService
from api.wire import ok

router = APIRouter(prefix="/v1/events", tags=["events"])


def service(request: Request) -> TriggerService:
    return request.app.state.triggers  # type: ignore[no-any-return]


@router.post("/trigger", status_code=201)
async def trigger(body: TriggerBody, env: CurrentEnv, request: Request) -> dict[str, Any]:
    """Start the notification for a transaction; returns before anything is rendered or sent."""
    return ok(await service(request).trigger(env, body))
