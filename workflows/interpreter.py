"""REST workflows: Novu's step JSON run as :class:`StepSpec` by the same engine as code workflows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.step_json import spec_from_novu

if TYPE_CHECKING:
    from workflows.engine import StepRunner


async def run_steps(runner: StepRunner, steps: list[dict[str, Any]]) -> None:
    for index, step in enumerate(steps):
        await runner.execute(spec_from_novu(step, index))
