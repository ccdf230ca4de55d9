"""``/v1/events``: trigger, bulk trigger, broadcast, and a fan-out's progress (cancel is in cancel.py)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.deps import CurrentEnv, DbDep, TemporalDep
from api.errors import NotFound, TidingsError
from api.lean_route import LeanRoute
from api.limits import check_delay_override, check_transaction_id, check_trigger_size
from api.responses import TriggerOut, TriggerProgressOut
from api.triggering import TriggerBody, TriggerService, normalize_to, recipients_text
from api.wire import Data, WireRouter, ok
from store.activity import transaction_counts
from tidings.metrics import TRIGGER_SECONDS, TRIGGERS
from workflows.models import PROGRESS_QUERY, FanoutProgress, execution_id

log = logging.getLogger("tidings.trigger")

router = WireRouter(prefix="/v1/events", tags=["events"])


def service(request: Request) -> TriggerService:
    return request.app.state.triggers  # type: ignore[no-any-return]


class BulkBody(BaseModel):
    """Novu's ``BulkTriggerEventDto``: the events themselves are validated one by one."""

    events: list[Any] = Field(min_length=1, max_length=100)


class BroadcastBody(BaseModel):
    """Novu's ``TriggerEventToAllRequestDto``: no ``to``; ``payload`` is required."""

    model_config = ConfigDict(extra="allow")
    name: str
    payload: dict[str, Any]
    overrides: dict[str, Any] = Field(default_factory=dict)
    transactionId: str | None = None
    actor: str | dict[str, Any] | None = None
    tenant: str | dict[str, Any] | None = None

    _transaction_id = field_validator("transactionId")(check_transaction_id)

    @model_validator(mode="after")
    def _within_limits(self) -> BroadcastBody:
        fields = {
            "payload": self.payload,
            "overrides": self.overrides,
            "actor": self.actor,
            "tenant": self.tenant,
        }
        check_trigger_size(fields)
        check_delay_override(self.overrides)
        return self


async def trigger(body: TriggerBody, env: CurrentEnv, request: Request) -> dict[str, Any]:
    """Start the notification for a transaction; returns before anything is rendered or sent."""
    with TRIGGER_SECONDS.time():
        try:
            result = await service(request).trigger(env, body)
        except TidingsError as exc:
            TRIGGERS.labels("rejected").inc()
            reason = exc.message if isinstance(exc.message, str) else "; ".join(map(str, exc.message))
            log.info(
                "trigger %s rejected: %s",
                body.name,
                reason,
                extra={
                    "fields": {
                        "event": "trigger",
                        "workflow": body.name,
                        "status": "rejected",
                        "reason": reason,
                    }
                },
            )
            raise
    TRIGGERS.labels(result["status"]).inc()
    to = recipients_text(normalize_to(body.to))
    tx = result.get("transactionId")
    log.info(
        "trigger %s to %s: %s (transactionId %s)",
        body.name,
        to,
        result["status"],
        tx,
        extra={
            "fields": {
                "event": "trigger",
                "workflow": body.name,
                "to": to,
                "status": result["status"],
                "transactionId": tx,
                "environmentId": env.id,
            }
        },
    )
    return ok(result)


# The hottest route: LeanRoute runs it without FastAPI's per-request dependency solving and response
# re-validation (api/lean_route.py says what it keeps); the OpenAPI document is the same.
router.add_api_route(
    "/trigger",
    trigger,
    methods=["POST"],
    status_code=201,
    response_model=Data[TriggerOut],
    route_class_override=LeanRoute,
)


@router.post("/trigger/bulk", status_code=201, response_model=Data[list[TriggerOut]])
async def trigger_bulk(body: BulkBody, env: CurrentEnv, request: Request) -> dict[str, Any]:
    return ok(await service(request).trigger_bulk(env, body.events))


@router.post("/trigger/broadcast", status_code=201, response_model=Data[TriggerOut])
async def broadcast(body: BroadcastBody, env: CurrentEnv, request: Request) -> dict[str, Any]:
    trigger_body = TriggerBody.model_validate({**body.model_dump(), "to": []})
    return ok(await service(request).broadcast(env, trigger_body))


@router.get("/trigger/{transaction_id}/progress", response_model=Data[TriggerProgressOut])
async def progress(transaction_id: str, env: CurrentEnv, db: DbDep, temporal: TemporalDep) -> dict[str, Any]:
    """How far a transaction got: subscribers done of the total (a Temporal query on the execution),
    plus the notifications and messages recorded so far."""
    handle = temporal.get_workflow_handle(execution_id(env.id, transaction_id))
    try:
        described = await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"Transaction {transaction_id} not found") from exc
        raise
    state: FanoutProgress | None = None
    try:
        state = await handle.query(PROGRESS_QUERY, result_type=FanoutProgress)
    except Exception:  # noqa: BLE001 - a closed run without a worker to replay it: counts only
        state = None
    async with db.session() as session:
        counts = await transaction_counts(
            session=session, environment_id=env.id, transaction_id=transaction_id
        )
    status = described.status.name.lower() if described.status else "unknown"
    view: dict[str, Any] = {"transactionId": transaction_id, "status": status, **counts}
    if state is not None:
        view.update(
            total=state.total,
            done=state.done,
            cohorts={
                "started": state.cohorts_started,
                "done": state.cohorts_done,
                "failed": state.cohorts_failed,
            },
            steps=state.steps,
        )
    if described.status == WorkflowExecutionStatus.COMPLETED and state is None:
        view["done"] = counts["notifications"]
    return ok(view)
