"""The delay step: a durable timer for the cohort.

Regular (``amount unit``, replaced by the trigger's ``overrides.delay``), scheduled (the ISO date at
``delayPath`` in the payload) or at the subscriber's local time (``{"type":"local_time","atTime":"09:00"}``).
Subscribers of one cohort who wake at different times are split: this execution keeps the earliest group,
the others continue in executions of their own that Temporal starts at their wake time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflows import retries

with workflow.unsafe.imports_passed_through():
    from workflows.details import Detail, DetailSource, DetailStatus, record_details
    from workflows.models import (
        LOCAL_WAKE_TIMES,
        START_RESUMED_RUNS,
        LocalWakeInput,
        LocalWakeResult,
        ResumePoint,
        RunInput,
        ScheduledRun,
        StartRunsInput,
        StepSpec,
        fork_id,
    )
    from workflows.steps.timing import TimingError, regular_duration, scheduled_until

if TYPE_CHECKING:
    from workflows.engine import StepRunner


async def wake_groups(runner: StepRunner, spec: StepSpec, now: datetime) -> list[tuple[datetime, list[str]]]:
    """(wake time, subscribers) in wake order; raises TimingError on a bad configuration."""
    meta, ctx = spec.metadata, runner.context
    kind = meta.get("type") or "regular"
    if kind == "scheduled":
        return [(scheduled_until(ctx.payload, meta.get("delayPath"), now), list(runner.cohort))]
    if kind == "local_time":
        found = await workflow.execute_local_activity(
            LOCAL_WAKE_TIMES,
            LocalWakeInput(subscriber_ids=runner.cohort, at_time=str(meta.get("atTime") or ""), now=now),
            result_type=LocalWakeResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=retries.DATABASE,
        )
        if found.invalid:
            raise TimingError(found.invalid)
        groups: dict[datetime, list[str]] = {}
        for sid in runner.cohort:
            if sid in found.wake:
                groups.setdefault(found.wake[sid], []).append(sid)
        return sorted(groups.items())
    return [(now + regular_duration(meta, ctx.overrides), list(runner.cohort))]


async def run(runner: StepRunner, spec: StepSpec) -> dict[str, Any]:
    now = workflow.now()
    try:
        groups = await wake_groups(runner, spec, now)
    except TimingError as exc:
        for sid in runner.cohort:
            runner.detail(
                spec,
                Detail.DELAY_MISCONFIGURATION,
                status=DetailStatus.FAILED,
                source=DetailSource.PAYLOAD,
                subscriber_id=sid,
                raw={"error": str(exc)},
            )
        runner.cohort = []  # the chain stops here, as Novu cancels the job
        return {"error": str(exc)}
    if not groups:
        runner.cohort = []
        return {}
    (until, cohort), later = groups[0], groups[1:]
    if later:
        await fork_later_groups(runner, spec, later, now)
    runner.cohort = cohort
    for sid in cohort:
        runner.detail(spec, Detail.STEP_DELAYED, subscriber_id=sid, raw={"until": until.isoformat()})
    await flush_details(runner)  # visible while the delay is pending, not only after it
    if until > now:
        await workflow.sleep(until - now)
    for sid in cohort:
        runner.detail(spec, Detail.DELAY_FINISHED, subscriber_id=sid)
    return {"until": until.isoformat()}


async def flush_details(runner: StepRunner) -> None:
    await record_details(runner.take_details())


async def fork_later_groups(
    runner: StepRunner, spec: StepSpec, later: list[tuple[datetime, list[str]]], now: datetime
) -> None:
    """Subscribers who wake later continue in their own execution (started by Temporal at that time),
    resumed right after this step; its ID starts with this transaction's :func:`fork_prefix`, so cancel
    finds it."""
    ctx = runner.context
    runs = [
        ScheduledRun(
            execution_id=fork_id(
                ctx.environment_id,
                ctx.transaction_id,
                workflow.info().workflow_id,
                f"at:{spec.step_id}:{int(until.timestamp())}:{group[0]}",
            ),
            run=RunInput(
                context=ctx,
                subscriber_ids=group,
                resume=ResumePoint(
                    after_step_id=spec.step_id,
                    result={"until": until.isoformat()},
                    results=dict(runner.results),
                ),
            ),
            start_at=until,
        )
        for until, group in later
    ]
    for scheduled in runs:
        for sid in scheduled.run.subscriber_ids or []:
            runner.detail(
                spec, Detail.STEP_DELAYED, subscriber_id=sid, raw={"until": scheduled.start_at.isoformat()}
            )
    await workflow.execute_activity(
        START_RESUMED_RUNS,
        StartRunsInput(runs=runs, now=now),
        start_to_close_timeout=timedelta(seconds=60),
        retry_policy=retries.DATABASE,
    )
