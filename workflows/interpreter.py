"""Novu's step JSON (REST workflows) → :class:`StepSpec`, executed by the same engine as code workflows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.models import StepSpec, StepType

if TYPE_CHECKING:
    from workflows.engine import StepRunner


def spec_from_novu(step: dict[str, Any], index: int) -> StepSpec:
    """Map one Novu ``NotificationStep`` to a spec. The step id is its ``uuid`` (else ``_id``, else position)."""
    template = step.get("template") or {}
    step_type = template.get("type") or step.get("type") or "in_app"
    step_id = str(step.get("uuid") or step.get("_id") or step.get("stepId") or f"step-{index}")
    return StepSpec(
        step_id=step_id,
        type=cast(StepType, step_type),
        name=step.get("name") or template.get("name"),
        active=step.get("active", True) is not False,
        should_stop_on_fail=bool(step.get("shouldStopOnFail", False)),
        filters=list(step.get("filters") or []),
        variants=list(step.get("variants") or []),
        content=template.get("content"),
        subject=template.get("subject"),
        title=template.get("title"),
        preheader=template.get("preheader"),
        sender_name=template.get("senderName"),
        layout_id=template.get("layoutId") or template.get("_layoutId"),
        feed_id=template.get("_feedId") or template.get("feedId"),
        cta=template.get("cta"),
        actor=template.get("actor"),
        metadata=dict(step.get("metadata") or {}),
        variables=list(template.get("variables") or []),
    )


async def run_steps(runner: StepRunner, steps: list[dict[str, Any]]) -> None:
    for index, step in enumerate(steps):
        await runner.execute(spec_from_novu(step, index))
