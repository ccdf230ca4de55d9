"""Delay activities: subscribers' local wake times, and executions Temporal starts at a later time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.schedule import next_local_time, zone
from store.db import Database
from store.subscribers import subscriber_timezones
from workflows.models import (
    LOCAL_WAKE_TIMES,
    NOTIFICATION_WORKFLOW,
    START_RESUMED_RUNS,
    LocalWakeInput,
    LocalWakeResult,
    ScheduledRun,
    StartRunsInput,
)
from workflows.steps.timing import TimingError


class DelayActivities:
    def __init__(self, *, db: Database, client: Client) -> None:
        self.db = db
        self.client = client

    @activity.defn(name=LOCAL_WAKE_TIMES)
    async def local_wake_times(self, request: LocalWakeInput) -> LocalWakeResult:
        """The next ``at_time`` on each subscriber's clock (their timezone; UTC when unset)."""
        async with self.db.session() as session:
            timezones = await subscriber_timezones(session=session, ids=request.subscriber_ids)
        try:
            return LocalWakeResult(
                wake={
                    sid: next_local_time(request.now, request.at_time, zone(tz))
                    for sid, tz in timezones.items()
                }
            )
        except TimingError as exc:
            return LocalWakeResult(invalid=str(exc))

    @activity.defn(name=START_RESUMED_RUNS)
    async def start_resumed_runs(self, request: StartRunsInput) -> None:
        """Start each run with a start delay; a retry finds them started (deterministic IDs)."""
        queue = activity.info().task_queue

        async def start(scheduled: ScheduledRun) -> None:
            try:
                await self.client.start_workflow(
                    NOTIFICATION_WORKFLOW,
                    scheduled.run,
                    id=scheduled.execution_id,
                    task_queue=queue,
                    start_delay=max(scheduled.start_at - request.now, timedelta(0)),
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                pass

        await asyncio.gather(*(start(r) for r in request.runs))
