"""Channel steps: one activity call delivers the step to the whole cohort.

In-app delivery is database work only, so it runs as a local activity (no extra server round trips);
email, SMS, chat and push talk to providers and run as regular activities with heartbeats.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import workflow

from workflows import retries

with workflow.unsafe.imports_passed_through():
    from workflows.dsl import StepResult
    from workflows.models import (
        DELIVER_STEP,
        START_RESUMED_RUNS,
        DeliverInput,
        DeliverResult,
        ResumePoint,
        RunInput,
        ScheduledRun,
        StartRunsInput,
        StepSpec,
        fork_id,
        step_summary,
    )

if TYPE_CHECKING:
    from workflows.engine import StepRunner


async def run(runner: StepRunner, spec: StepSpec) -> StepResult:
    request = DeliverInput(
        context=runner.step_context,
        step=spec,
        subscriber_ids=runner.cohort,
        digest=runner.digest_state,
        results=runner.results,
        window_open=runner.window_open_step == spec.step_id,
    )
    if spec.type == "in_app":
        result = await workflow.execute_local_activity(
            DELIVER_STEP,
            request,
            result_type=DeliverResult,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=retries.DATABASE,
            summary=step_summary(spec.type, spec.step_id, len(runner.cohort)),
        )
    else:
        result = await workflow.execute_activity(
            DELIVER_STEP,
            request,
            result_type=DeliverResult,
            start_to_close_timeout=timedelta(minutes=5),
            # The attempt heartbeats every third of this while it runs (activities/heartbeat.py); 30 s, not
            # 10 s: a Temporal server lagging under a backlog answered heartbeats late enough to time out
            # healthy sends (bench/README.md, slow provider on PostgreSQL). A dead worker costs 30 s.
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=retries.PROVIDER,
            summary=step_summary(spec.type, spec.step_id, len(runner.cohort)),
        )
    if result.deferred:
        await wait_for_windows(runner, spec, result.deferred)
    if spec.should_stop_on_fail and result.failed:
        failed = set(result.failed)
        runner.cohort = [s for s in runner.cohort if s not in failed]
    outcome = StepResult(sent=len(result.sent), filtered=len(result.filtered), failed=len(result.failed))
    runner.summary[spec.step_id] = outcome.model_dump(include={"sent", "filtered", "failed"})
    return outcome


async def wait_for_windows(runner: StepRunner, spec: StepSpec, deferred: dict[str, datetime]) -> None:
    """Subscribers outside their send window continue in executions of their own that Temporal starts
    when the window opens, at this step (a durable start delay, visible in the Temporal UI). Their IDs
    start with this transaction's, so cancel reaches them."""
    groups: dict[datetime, list[str]] = {}
    for sid in runner.cohort:
        if sid in deferred:
            groups.setdefault(deferred[sid], []).append(sid)
    runs = [
        ScheduledRun(
            execution_id=fork_id(
                runner.context.environment_id,
                runner.context.transaction_id,
                workflow.info().workflow_id,
                f"window:{spec.step_id}:{int(until.timestamp())}:{group[0]}",
            ),
            run=RunInput(
                context=runner.context,
                subscriber_ids=group,
                resume=ResumePoint(
                    after_step_id="",
                    at_step_id=spec.step_id,
                    result=runner.digest_state,
                    results=dict(runner.results),
                ),
            ),
            start_at=until,
        )
        for until, group in sorted(groups.items())
    ]
    await workflow.execute_activity(
        START_RESUMED_RUNS,
        StartRunsInput(runs=runs, now=workflow.now()),
        start_to_close_timeout=timedelta(seconds=60),
        retry_policy=retries.DATABASE,
    )
    runner.cohort = [sid for sid in runner.cohort if sid not in deferred]
