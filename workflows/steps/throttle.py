"""The throttle step: at most ``threshold`` executions per window per subscriber (and throttle key).

One activity call counts and records the whole cohort under a lock; subscribers over the limit stop here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflows import retries

with workflow.unsafe.imports_passed_through():
    from workflows.models import CHECK_THROTTLE, StepSpec, ThrottleInput, ThrottleResult

if TYPE_CHECKING:
    from workflows.engine import StepRunner


async def run(runner: StepRunner, spec: StepSpec) -> dict[str, Any]:
    checked = await workflow.execute_local_activity(
        CHECK_THROTTLE,
        ThrottleInput(
            context=runner.step_context, step=spec, subscriber_ids=runner.cohort, at=workflow.now()
        ),
        result_type=ThrottleResult,
        start_to_close_timeout=timedelta(seconds=60),
        retry_policy=retries.DATABASE,
    )
    allowed = set(checked.allowed)
    runner.cohort = [sid for sid in runner.cohort if sid in allowed]
    return {"allowed": len(checked.allowed), "throttled": len(checked.throttled)}
