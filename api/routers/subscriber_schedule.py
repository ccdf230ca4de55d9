"""``/v1/subscribers/{subscriberId}/schedule``: the subscriber's delivery schedule (a Tidings extension).

The same schedule ``@novu/js`` manages (``{isEnabled, weeklySchedule: {monday: {isEnabled, hours:
[{start, end}]}}}``), stored on the subscriber's global preference. Outside it, email, SMS, push and chat
steps of non-critical workflows wait until it opens (``activities/send_windows.py``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.deps import CurrentEnv, DbDep
from api.errors import NotFound
from api.responses_v2 import DeliveryScheduleOut
from api.wire import Data, WireRouter, ok
from store.preferences import get_preference, set_schedule
from store.subscribers import get_subscriber
from tidings.send_windows import DAY_NAMES, WindowError, minutes

router = WireRouter(prefix="/v1/subscribers", tags=["subscribers"])


class TimeRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        try:
            minutes(value)
        except WindowError as exc:
            raise ValueError(f"{exc}: use HH:MM or hh:mm AM/PM") from exc
        return value


class DaySchedule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    isEnabled: bool
    hours: list[TimeRange] = Field(default_factory=list, max_length=24)


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    isEnabled: bool
    weeklySchedule: dict[str, DaySchedule] = Field(default_factory=dict)

    @field_validator("weeklySchedule")
    @classmethod
    def _days(cls, value: dict[str, DaySchedule]) -> dict[str, DaySchedule]:
        wrong = [day for day in value if day not in DAY_NAMES]
        if wrong:
            raise ValueError(f"weeklySchedule keys must be days of the week ({', '.join(DAY_NAMES)})")
        return value


async def subscriber_row(session: Any, env_id: str, subscriber_id: str) -> Any:
    row = await get_subscriber(session=session, environment_id=env_id, subscriber_id=subscriber_id)
    if row is None:
        raise NotFound(f"Subscriber {subscriber_id} not found")
    return row


@router.get("/{subscriber_id}/schedule", response_model=Data[DeliveryScheduleOut])
async def get_schedule(subscriber_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        row = await subscriber_row(session, env.id, subscriber_id)
        preference = await get_preference(session=session, subscriber_id=row.id, level="global")
    schedule = preference.schedule if preference is not None and preference.schedule else None
    return ok(schedule or {"isEnabled": False, "weeklySchedule": {}})


@router.put("/{subscriber_id}/schedule", response_model=Data[DeliveryScheduleOut])
async def put_schedule(subscriber_id: str, body: ScheduleBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    schedule = body.model_dump(exclude_none=True)
    async with db.session() as session:
        row = await subscriber_row(session, env.id, subscriber_id)
        await set_schedule(session=session, environment_id=env.id, subscriber_id=row.id, schedule=schedule)
    return ok(schedule)
