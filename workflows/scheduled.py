"""One firing of a recurring schedule: trigger the notification workflow for the scheduled time.

Temporal Schedules start this workflow (id ``<env>:schedule:<schedule id>-<scheduled time>``); its one
activity goes through the ordinary trigger path, so a firing honours the workflow's current definition,
preferences and tenant, and its transactionId is derived from the scheduled time (idempotent).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

SCHEDULED_TRIGGER_WORKFLOW = "ScheduledTrigger"
FIRE_SCHEDULE = "fire_schedule"
#: Set by Temporal on every execution a schedule starts.
SCHEDULED_START_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
FIRE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60), maximum_attempts=20
)


class ScheduledTriggerInput(BaseModel):
    environment_id: str
    schedule_id: str


class FireScheduleInput(BaseModel):
    environment_id: str
    schedule_id: str
    scheduled_at: datetime


class FireScheduleResult(BaseModel):
    status: str
    transaction_id: str | None = None
    detail: dict[str, Any] | None = None


@workflow.defn(name=SCHEDULED_TRIGGER_WORKFLOW)
class ScheduledTriggerWorkflow:
    @workflow.run
    async def run(self, request: ScheduledTriggerInput) -> FireScheduleResult:
        info = workflow.info()
        scheduled_at = info.typed_search_attributes.get(SCHEDULED_START_TIME) or info.start_time
        return await workflow.execute_activity(
            FIRE_SCHEDULE,
            FireScheduleInput(
                environment_id=request.environment_id,
                schedule_id=request.schedule_id,
                scheduled_at=scheduled_at,
            ),
            result_type=FireScheduleResult,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=FIRE_RETRY,
            summary="trigger the scheduled workflow",
        )
