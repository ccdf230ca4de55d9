"""Recurring schedules on Temporal Schedules: the request shape, its calendar, and keeping Temporal in step.

A schedule row (``store/models/schedules.py``) says *what* to trigger; a Temporal Schedule with the id
``<environment id>:<schedule id>`` says *when*. Each firing starts a ``ScheduledTrigger`` execution
(``workflows/scheduled.py``), whose one activity triggers the notification workflow through the normal
trigger path with the transactionId ``schedule-<schedule id>-<scheduled time>``: a firing that Temporal
runs twice (a catch-up after downtime, a backfill over the same hours, a retried start) finds that
transaction taken and delivers nothing more.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleDescription,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from workflows.scheduled import SCHEDULED_TRIGGER_WORKFLOW, ScheduledTriggerInput

#: Temporal's day-of-week numbers (0 = Sunday), by the two-letter names of iCalendar's RRULE.
WEEKDAYS = {"SU": 0, "MO": 1, "TU": 2, "WE": 3, "TH": 4, "FR": 5, "SA": 6}
AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
#: A firing missed for longer than this (server or workers down) is dropped rather than caught up.
CATCHUP_WINDOW = timedelta(days=1)


class Repeat(BaseModel):
    """When a schedule fires: a cron expression, or an RRULE-like frequency.

    ``{"cron": "0 9 * * MON-FRI"}`` or ``{"frequency": "weekly", "days": ["MO", "TH"], "at": "09:30"}``.
    ``interval`` repeats every n-th minute or hour (``minutely``/``hourly``); calendar frequencies
    (``daily``/``weekly``/``monthly``) fire on every matching day.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    cron: str | None = None
    frequency: Literal["minutely", "hourly", "daily", "weekly", "monthly"] | None = None
    interval: int = Field(default=1, ge=1, le=1000)
    days: list[str] | None = None
    at: str | None = None
    day_of_month: int | None = Field(default=None, alias="dayOfMonth", ge=1, le=31)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and (len(value.split()) != 5 or not croniter.is_valid(value)):
            raise ValueError(f"repeat.cron is not a valid five-field cron expression: {value!r}")
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        days = [d.upper() for d in value]
        wrong = [d for d in days if d not in WEEKDAYS]
        if wrong or not days:
            raise ValueError(f"repeat.days must be a non-empty list of {', '.join(WEEKDAYS)}")
        return days

    @field_validator("at")
    @classmethod
    def _at(cls, value: str | None) -> str | None:
        if value is not None and not AT.match(value):
            raise ValueError("repeat.at must be a time of day as HH:MM (24-hour)")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Repeat:
        if (self.cron is None) == (self.frequency is None):
            raise ValueError("repeat must have either cron or frequency")
        if self.cron is not None and (self.days or self.at or self.day_of_month or self.interval != 1):
            raise ValueError(
                "repeat.cron cannot be combined with frequency, interval, days, at or dayOfMonth"
            )
        if self.frequency in ("daily", "weekly", "monthly") and self.interval != 1:
            raise ValueError(
                "repeat.interval must be 1 for daily, weekly and monthly schedules "
                "(use days, dayOfMonth or a cron expression)"
            )
        if self.days is not None and self.frequency not in ("weekly", None):
            raise ValueError("repeat.days goes with frequency weekly")
        if self.day_of_month is not None and self.frequency != "monthly":
            raise ValueError("repeat.dayOfMonth goes with frequency monthly")
        if self.at is not None and self.frequency == "minutely":
            raise ValueError("repeat.at does not go with frequency minutely")
        return self

    def calendar(self) -> ScheduleCalendarSpec:
        """The frequency form as one Temporal calendar (evaluated in the schedule's time zone)."""
        hour, minute = (int(p) for p in self.at.split(":")) if self.at else (0, 0)
        every_day = [ScheduleRange(1, 31)]
        if self.frequency == "minutely":
            return ScheduleCalendarSpec(
                second=[ScheduleRange(0)],
                minute=[ScheduleRange(0, 59, self.interval)],
                hour=[ScheduleRange(0, 23)],
            )
        if self.frequency == "hourly":
            return ScheduleCalendarSpec(
                second=[ScheduleRange(0)],
                minute=[ScheduleRange(minute)],
                hour=[ScheduleRange(0, 23, self.interval)],
            )
        day_of_week = [ScheduleRange(0, 6)]
        day_of_month = every_day
        if self.frequency == "weekly":
            day_of_week = [ScheduleRange(WEEKDAYS[d]) for d in (self.days or ["MO"])]
        if self.frequency == "monthly":
            day_of_month = [ScheduleRange(self.day_of_month or 1)]
        return ScheduleCalendarSpec(
            second=[ScheduleRange(0)],
            minute=[ScheduleRange(minute)],
            hour=[ScheduleRange(hour)],
            day_of_month=day_of_month,
            day_of_week=day_of_week,
        )

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, exclude_defaults=False)


def valid_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone must be an IANA time zone such as Europe/Paris, not {value!r}") from exc
    return value


def aware(value: datetime | None) -> datetime | None:
    """Times without an offset are read as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def temporal_schedule_id(environment_id: str, schedule_id: str) -> str:
    return f"{environment_id}:{schedule_id}"


def firing_workflow_id(environment_id: str, schedule_id: str) -> str:
    """The prefix of each firing's execution id (Temporal appends the scheduled time)."""
    return f"{environment_id}:schedule:{schedule_id}"


def transaction_id(schedule_id: str, scheduled_at: datetime) -> str:
    """The same for every start of one firing: the idempotency of scheduled triggers."""
    return f"schedule-{schedule_id}-{scheduled_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def spec_for(
    repeat: Repeat, timezone: str, start_at: datetime | None, end_at: datetime | None
) -> ScheduleSpec:
    return ScheduleSpec(
        cron_expressions=[repeat.cron] if repeat.cron else [],
        calendars=[] if repeat.cron else [repeat.calendar()],
        time_zone_name=timezone,
        start_at=aware(start_at),
        end_at=aware(end_at),
    )


class ScheduleRequest(BaseModel):
    """Everything Temporal needs to know about one schedule row."""

    environment_id: str
    schedule_id: str
    workflow_identifier: str
    repeat: Repeat
    timezone: str = "UTC"
    start_at: datetime | None = None
    end_at: datetime | None = None

    def schedule(self, task_queue: str, *, paused: bool, note: str = "") -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(
                SCHEDULED_TRIGGER_WORKFLOW,
                ScheduledTriggerInput(environment_id=self.environment_id, schedule_id=self.schedule_id),
                id=firing_workflow_id(self.environment_id, self.schedule_id),
                task_queue=task_queue,
                static_summary=f"{self.workflow_identifier} · schedule {self.schedule_id}",
            ),
            spec=spec_for(self.repeat, self.timezone, self.start_at, self.end_at),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=CATCHUP_WINDOW),
            state=ScheduleState(paused=paused, note=note),
        )


async def put_schedule(
    client: Client, request: ScheduleRequest, task_queue: str, *, paused: bool | None = None
) -> None:
    """Create the Temporal Schedule, or bring an existing one in line (keeping its paused state unless
    ``paused`` says otherwise). Safe to repeat."""
    sid = temporal_schedule_id(request.environment_id, request.schedule_id)
    try:
        await client.create_schedule(sid, request.schedule(task_queue, paused=bool(paused)))
        return
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        state = current.description.schedule.state
        keep = state.paused if paused is None else paused
        return ScheduleUpdate(schedule=request.schedule(task_queue, paused=keep, note=state.note or ""))

    await client.get_schedule_handle(sid).update(update)


async def describe(client: Client, environment_id: str, schedule_id: str) -> ScheduleDescription | None:
    try:
        return await client.get_schedule_handle(temporal_schedule_id(environment_id, schedule_id)).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def remove(client: Client, environment_id: str, schedule_id: str) -> None:
    try:
        await client.get_schedule_handle(temporal_schedule_id(environment_id, schedule_id)).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


# --- schedules declared in code ----------------------------------------------------------------------


class CodeSchedule(BaseModel):
    """A schedule declared in Python next to the workflows (see :func:`schedule`)."""

    key: str
    workflow: str
    to: Any
    payload: dict[str, Any] = Field(default_factory=dict)
    repeat: Repeat
    timezone: str = "UTC"
    environments: list[str] | None = None

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return valid_timezone(value)


#: Schedules declared in code, by key; filled when the catalog modules are imported.
CODE_SCHEDULES: dict[str, CodeSchedule] = {}


def schedule(
    key: str,
    *,
    workflow: str,
    to: Any,
    payload: dict[str, Any] | None = None,
    cron: str | None = None,
    frequency: str | None = None,
    interval: int = 1,
    days: list[str] | None = None,
    at: str | None = None,
    day_of_month: int | None = None,
    timezone: str = "UTC",
    environments: list[str] | None = None,
) -> CodeSchedule:
    """Declare a recurring trigger in code, e.g. in a module of ``workflows/catalog/``::

        schedule("monday-report", workflow="weekly-report", to=["ops-team"],
                 frequency="weekly", days=["MO"], at="09:00", timezone="Europe/Paris",
                 environments=["Production"])

    When the API starts, each environment named in ``environments`` (every environment when ``None``)
    gets the schedule, and a schedule removed from the code is removed from Temporal.
    """
    repeat = Repeat.model_validate(
        {
            k: v
            for k, v in {
                "cron": cron,
                "frequency": frequency,
                "interval": interval,
                "days": days,
                "at": at,
                "dayOfMonth": day_of_month,
            }.items()
            if v is not None
        }
    )
    declared = CodeSchedule(
        key=key,
        workflow=workflow,
        to=to,
        payload=payload or {},
        repeat=repeat,
        timezone=timezone,
        environments=environments,
    )
    CODE_SCHEDULES[key] = declared
    return declared


async def sync_code_schedules(db: Any, client: Client, task_queue: str) -> None:
    """Give every environment the schedules declared in code, and drop the ones no longer declared.

    Run when the API starts, after the catalog is loaded.
    """
    from store.schedules import code_schedules, create_schedule, delete_schedule, update_schedule
    from store.tenancy import list_environments

    async with db.session() as session:
        for env in await list_environments(session=session):
            existing = await code_schedules(session=session, environment_id=env.id)
            for key, declared in sorted(CODE_SCHEDULES.items()):
                if declared.environments is not None and env.name not in declared.environments:
                    continue
                fields = {
                    "workflow_identifier": declared.workflow,
                    "to": declared.to,
                    "payload": declared.payload,
                    "repeat": declared.repeat.wire(),
                    "timezone": declared.timezone,
                }
                row = existing.pop(key, None)
                if row is None:
                    row = await create_schedule(
                        session=session, environment_id=env.id, key=key, origin="code", **fields
                    )
                else:
                    row = await update_schedule(session=session, row=row, **fields)
                await put_schedule(
                    client,
                    ScheduleRequest(
                        environment_id=env.id,
                        schedule_id=row.id,
                        workflow_identifier=row.workflow_identifier,
                        repeat=declared.repeat,
                        timezone=row.timezone,
                    ),
                    task_queue,
                )
            for row in existing.values():
                await remove(client, env.id, row.id)
                await delete_schedule(session=session, row=row)
