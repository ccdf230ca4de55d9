"""Action steps: delay, digest, throttle and custom.

Digest, throttle and the scheduled/local-time delays are completed by the digest issue; until then a
regular delay is a durable timer and the others fail the step with a recorded reason.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.models import StepSpec

if TYPE_CHECKING:
    from workflows.engine import StepRunner

UNIT_SECONDS = {
    "seconds": 1,
    "minutes": 60,
    "hours": 3600,
    "days": 86400,
    "weeks": 7 * 86400,
    "months": 30 * 86400,
}


def regular_duration(metadata: dict[str, Any], overrides: dict[str, Any]) -> timedelta:
    """``amount * unit``; ``overrides.delay`` replaces it. Weeks and months are real conversions."""
    override = overrides.get("delay")
    source: dict[str, Any] = override if isinstance(override, dict) else metadata
    amount = float(source.get("amount") or 0)
    unit = str(source.get("unit") or "seconds")
    if unit not in UNIT_SECONDS:
        raise ApplicationError(f"Unknown delay unit {unit!r}", non_retryable=True)
    return timedelta(seconds=amount * UNIT_SECONDS[unit])


async def delay(runner: StepRunner, spec: StepSpec) -> dict[str, Any]:
    duration = regular_duration(spec.metadata, runner.context.overrides)
    runner.detail(spec, "Step delayed", raw={"seconds": duration.total_seconds()})
    await workflow.sleep(duration)
    runner.detail(spec, "Delay is finished")
    return {"duration": duration.total_seconds()}


async def digest(runner: StepRunner, spec: StepSpec) -> Any:
    raise ApplicationError("digest steps are not available yet", non_retryable=True)


async def throttle(runner: StepRunner, spec: StepSpec) -> Any:
    raise ApplicationError("throttle steps are not available yet", non_retryable=True)


async def custom(runner: StepRunner, spec: StepSpec) -> Any:
    if not spec.custom_activity:
        raise ApplicationError("custom step needs an activity name", non_retryable=True)
    return await workflow.execute_activity(
        spec.custom_activity, spec.custom_input, start_to_close_timeout=timedelta(minutes=5)
    )
