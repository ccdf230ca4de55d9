"""``/v1/schedules``: recurring triggers on Temporal Schedules (a Tidings extension; Novu has none).

The row in the app database holds the request; the Temporal Schedule ``<environment id>:<schedule id>``
holds the timing, and what these routes show of it (paused, next runs, recent runs) is read from Temporal,
so the API and the Temporal UI's Schedules page agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from temporalio.service import RPCError, RPCStatusCode

from api.deps import CurrentEnv, DbDep, SettingsDep, TemporalDep
from api.errors import BadRequest, NotFound, Unprocessable
from api.responses import Acknowledged, Deleted, ScheduleOut
from api.views import schedule_view
from api.wire import Data, Page, WireRouter, ok, query_int
from store.definitions import get_definition
from store.models import RecurringSchedule
from store.schedules import create_schedule, delete_schedule, get_schedule, list_schedules, update_schedule
from tidings import schedules as temporal_schedules
from tidings.schedules import Repeat, ScheduleRequest, aware, valid_timezone

router = WireRouter(prefix="/v1/schedules", tags=["schedules"])


class ScheduleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str | int | dict[str, Any] | list[Any] | None = None
    payload: dict[str, Any] | None = None
    repeat: Repeat | None = None
    timezone: str | None = None
    startAt: datetime | None = None
    endAt: datetime | None = None
    paused: bool | None = None

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else valid_timezone(value)

    @field_validator("to")
    @classmethod
    def _to(cls, value: Any) -> Any:
        if value in ([], "", {}):
            raise ValueError("to should not be empty")
        return value

    @model_validator(mode="after")
    def _window(self) -> ScheduleFields:
        start, end = aware(self.startAt), aware(self.endAt)
        if start is not None and end is not None and end <= start:
            raise ValueError("endAt must be after startAt")
        return self


class CreateScheduleBody(ScheduleFields):
    """``POST /v1/schedules``."""

    workflowId: str = Field(min_length=1, description="The trigger identifier of the workflow")
    to: str | int | dict[str, Any] | list[Any]
    repeat: Repeat
    timezone: str = "UTC"


def request_for(row: RecurringSchedule) -> ScheduleRequest:
    return ScheduleRequest(
        environment_id=row.environment_id,
        schedule_id=row.id,
        workflow_identifier=row.workflow_identifier,
        repeat=Repeat.model_validate(row.repeat),
        timezone=row.timezone,
        start_at=row.start_at,
        end_at=row.end_at,
    )


def temporal_refused(exc: RPCError) -> BadRequest:
    """Temporal validates calendars again; its refusal is the caller's error, not ours."""
    if exc.status == RPCStatusCode.INVALID_ARGUMENT:
        return BadRequest([f"repeat is not a schedule Temporal accepts: {exc.message}"])
    raise exc


async def load(db: Any, env_id: str, schedule_id: str) -> RecurringSchedule:
    async with db.session() as session:
        row = await get_schedule(session=session, environment_id=env_id, schedule_id=schedule_id)
    if row is None:
        raise NotFound(f"Schedule with id {schedule_id} not found")
    return row


@router.post("", status_code=201, response_model=Data[ScheduleOut])
async def create(
    body: CreateScheduleBody, env: CurrentEnv, db: DbDep, temporal: TemporalDep, settings: SettingsDep
) -> dict[str, Any]:
    async with db.session() as session:
        definition = await get_definition(session=session, environment_id=env.id, key=body.workflowId)
        if definition is None:
            raise Unprocessable("workflow_not_found")
        row = await create_schedule(
            session=session,
            environment_id=env.id,
            workflow_identifier=definition.trigger_identifier,
            to=body.to,
            payload=body.payload or {},
            repeat=body.repeat.wire(),
            timezone=body.timezone,
            start_at=aware(body.startAt),
            end_at=aware(body.endAt),
        )
        try:
            # Inside the transaction: a schedule Temporal refuses leaves no row behind.
            await temporal_schedules.put_schedule(
                temporal, request_for(row), settings.task_queue, paused=bool(body.paused)
            )
        except RPCError as exc:
            raise temporal_refused(exc) from exc
    return ok(schedule_view(row, await temporal_schedules.describe(temporal, env.id, row.id)))


@router.get("", response_model=Page[ScheduleOut])
async def list_all(
    env: CurrentEnv,
    db: DbDep,
    temporal: TemporalDep,
    page: str | None = None,
    limit: str | None = Query(None),
) -> dict[str, Any]:
    page_no = query_int("page", page, default=0, minimum=0, maximum=10_000)
    size = query_int("limit", limit, default=10, minimum=1, maximum=100)
    async with db.session() as session:
        rows, total = await list_schedules(
            session=session, environment_id=env.id, offset=page_no * size, limit=size
        )
    data = [schedule_view(row, await temporal_schedules.describe(temporal, env.id, row.id)) for row in rows]
    return {
        "data": data,
        "page": page_no,
        "pageSize": size,
        "totalCount": total,
        "hasMore": (page_no + 1) * size < total,
    }


@router.get("/{schedule_id}", response_model=Data[ScheduleOut])
async def get_one(schedule_id: str, env: CurrentEnv, db: DbDep, temporal: TemporalDep) -> dict[str, Any]:
    row = await load(db, env.id, schedule_id)
    return ok(schedule_view(row, await temporal_schedules.describe(temporal, env.id, row.id)))


@router.patch("/{schedule_id}", response_model=Data[ScheduleOut])
async def patch(
    schedule_id: str,
    body: ScheduleFields,
    env: CurrentEnv,
    db: DbDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if body.to is not None:
        changes["to"] = body.to
    if body.payload is not None:
        changes["payload"] = body.payload
    if body.repeat is not None:
        changes["repeat"] = body.repeat.wire()
    if body.timezone is not None:
        changes["timezone"] = body.timezone
    if "startAt" in body.model_fields_set:
        changes["start_at"] = aware(body.startAt)
    if "endAt" in body.model_fields_set:
        changes["end_at"] = aware(body.endAt)
    async with db.session() as session:
        row = await get_schedule(session=session, environment_id=env.id, schedule_id=schedule_id)
        if row is None:
            raise NotFound(f"Schedule with id {schedule_id} not found")
        if changes and row.origin == "code":
            raise BadRequest("This schedule is defined in code; change it there (pause and unpause work)")
        start = changes.get("start_at", row.start_at)
        end = changes.get("end_at", row.end_at)
        if start is not None and end is not None and end <= start:
            raise BadRequest(["endAt must be after startAt"])
        row = await update_schedule(session=session, row=row, **changes)
        try:
            await temporal_schedules.put_schedule(
                temporal, request_for(row), settings.task_queue, paused=body.paused
            )
        except RPCError as exc:
            raise temporal_refused(exc) from exc
    return ok(schedule_view(row, await temporal_schedules.describe(temporal, env.id, row.id)))


class PauseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=500)


@router.post("/{schedule_id}/pause", response_model=Data[ScheduleOut])
async def pause(
    schedule_id: str, env: CurrentEnv, db: DbDep, temporal: TemporalDep, body: PauseBody | None = None
) -> dict[str, Any]:
    row = await load(db, env.id, schedule_id)
    handle = temporal.get_schedule_handle(temporal_schedules.temporal_schedule_id(env.id, row.id))
    await handle.pause(note=(body.note if body else None) or "Paused through the Tidings API")
    return ok(schedule_view(row, await temporal_schedules.describe(temporal, env.id, row.id)))


@router.post("/{schedule_id}/unpause", response_model=Data[ScheduleOut])
async def unpause(
    schedule_id: str, env: CurrentEnv, db: DbDep, temporal: TemporalDep, body: PauseBody | None = None
) -> dict[str, Any]:
    row = await load(db, env.id, schedule_id)
    handle = temporal.get_schedule_handle(temporal_schedules.temporal_schedule_id(env.id, row.id))
    await handle.unpause(note=(body.note if body else None) or "Unpaused through the Tidings API")
    return ok(schedule_view(row, await temporal_schedules.describe(temporal, env.id, row.id)))


@router.post("/{schedule_id}/trigger", status_code=201, response_model=Data[Acknowledged])
async def trigger_now(schedule_id: str, env: CurrentEnv, db: DbDep, temporal: TemporalDep) -> dict[str, Any]:
    """Fire once now, outside the calendar (Temporal's "Trigger" button)."""
    row = await load(db, env.id, schedule_id)
    await temporal.get_schedule_handle(temporal_schedules.temporal_schedule_id(env.id, row.id)).trigger()
    return ok({"acknowledged": True})


@router.delete("/{schedule_id}", response_model=Data[Deleted])
async def delete(schedule_id: str, env: CurrentEnv, db: DbDep, temporal: TemporalDep) -> dict[str, Any]:
    async with db.session() as session:
        row = await get_schedule(session=session, environment_id=env.id, schedule_id=schedule_id)
        if row is None:
            raise NotFound(f"Schedule with id {schedule_id} not found")
        if row.origin == "code":
            raise BadRequest("This schedule is defined in code; remove it there")
        await delete_schedule(session=session, row=row)
        await temporal_schedules.remove(temporal, env.id, schedule_id)
    return ok({"acknowledged": True, "status": "deleted"})
