"""Channel steps: one activity call delivers the step to the whole cohort.

In-app delivery is database work only, so it runs as a local activity (no extra server round trips);
email, SMS, chat and push talk to providers and run as regular activities with heartbeats.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.dsl import StepResult
    from workflows.models import DELIVER_STEP, DeliverInput, DeliverResult, StepSpec, step_summary

if TYPE_CHECKING:
    from workflows.engine import StepRunner

LOCAL_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)
PROVIDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60), maximum_attempts=10
)


async def run(runner: StepRunner, spec: StepSpec) -> StepResult:
    request = DeliverInput(
        context=runner.context,
        step=spec,
        subscriber_ids=runner.cohort,
        digest=runner.digest_state,
        results=runner.results,
    )
    if spec.type == "in_app":
        result = await workflow.execute_local_activity(
            DELIVER_STEP,
            request,
            result_type=DeliverResult,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=LOCAL_RETRY,
            summary=step_summary(spec.type, spec.step_id, len(runner.cohort)),
        )
    else:
        result = await workflow.execute_activity(
            DELIVER_STEP,
            request,
            result_type=DeliverResult,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=PROVIDER_RETRY,
            summary=step_summary(spec.type, spec.step_id, len(runner.cohort)),
        )
    if spec.should_stop_on_fail and result.failed:
        failed = set(result.failed)
        runner.cohort = [s for s in runner.cohort if s not in failed]
    outcome = StepResult(sent=len(result.sent), filtered=len(result.filtered), failed=len(result.failed))
    runner.summary[spec.step_id] = outcome.model_dump(include={"sent", "filtered", "failed"})
    return outcome
