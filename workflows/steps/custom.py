"""Custom steps: run an author's ``@step_activity`` and hand its result to later steps.

A failing custom activity (after its retries) is recorded; with ``should_stop_on_fail`` the chain stops
for the whole cohort, otherwise later steps run without its result (``None``), as Novu continues a chain.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import retries

with workflow.unsafe.imports_passed_through():
    from workflows.details import Detail, DetailStatus
    from workflows.models import StepSpec

if TYPE_CHECKING:
    from workflows.engine import StepRunner


async def run(runner: StepRunner, spec: StepSpec) -> Any:
    if not spec.custom_activity:
        raise ApplicationError("custom step needs an activity name", non_retryable=True)
    try:
        result = await workflow.execute_activity(
            spec.custom_activity,
            spec.custom_input,
            start_to_close_timeout=timedelta(seconds=spec.custom_timeout_seconds),
            retry_policy=retries.custom_step(spec.custom_max_attempts),
        )
    except ActivityError as exc:
        cause = exc.cause.message if isinstance(exc.cause, ApplicationError) else str(exc.cause or exc)
        runner.detail(
            spec,
            Detail.CUSTOM_STEP_FAILED,
            status=DetailStatus.FAILED,
            raw={"error": cause, "activity": spec.custom_activity},
        )
        runner.summary[spec.step_id] = {"sent": 0, "filtered": 0, "failed": len(runner.cohort)}
        if spec.should_stop_on_fail:
            runner.cohort = []
        return None
    runner.summary[spec.step_id] = {"sent": len(runner.cohort), "filtered": 0, "failed": 0}
    return result
