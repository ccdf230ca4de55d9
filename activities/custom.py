"""Authors' own activities for custom steps: ``@step_activity`` registers one, ``worker.py`` runs them.

    @step_activity("lookup-plan")
    async def lookup_plan(request: dict) -> dict:
        ...  # any I/O: this runs in the worker as a Temporal activity, retried on failure

    # in a catalog workflow:
    plan = await step.custom("plan", activity=lookup_plan, input=lambda p, r: {"user": p.user_id})

Input and result are plain JSON values. Raise ``temporalio.exceptions.ApplicationError(...,
non_retryable=True)`` for a permanent failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import activity

F = TypeVar("F", bound=Callable[..., Any])

#: activity name → the registered function (each decorated with ``activity.defn``).
STEP_ACTIVITIES: dict[str, Callable[..., Any]] = {}


def step_activity(name: str | None = None) -> Callable[[F], F]:
    """Register ``fn`` as the activity a custom step calls (by this function or by ``name``)."""

    def register(fn: F) -> F:
        activity_name = name or fn.__name__
        existing = STEP_ACTIVITIES.get(activity_name)
        if existing is not None and existing is not fn:
            raise ValueError(f"step activity {activity_name!r} is defined twice")
        defined = activity.defn(name=activity_name)(fn)
        defined.step_activity_name = activity_name  # type: ignore[attr-defined]
        STEP_ACTIVITIES[activity_name] = defined
        return defined

    return register


def step_activities() -> list[Callable[..., Any]]:
    """Every registered custom-step activity (catalog modules register theirs when imported)."""
    return list(STEP_ACTIVITIES.values())
