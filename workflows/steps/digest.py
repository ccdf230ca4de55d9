"""The digest step: each subscriber's event joins the accumulator of its digest key.

One activity call for the whole cohort. Digested subscribers leave this execution's cohort: their
accumulator runs the steps after the digest once per window, with every event. Subscribers whose backoff
digest was skipped (no recent event) continue here at once, with no digest in their templates.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow

from workflows import retries

with workflow.unsafe.imports_passed_through():
    from workflows.dsl import DigestResult
    from workflows.models import JOIN_DIGEST, JoinDigestInput, JoinDigestResult, StepSpec, step_summary

if TYPE_CHECKING:
    from workflows.engine import StepRunner


async def run(runner: StepRunner, spec: StepSpec) -> DigestResult:
    joined = await workflow.execute_local_activity(
        JOIN_DIGEST,
        JoinDigestInput(
            context=runner.context,
            step=spec,
            subscriber_ids=runner.cohort,
            results=runner.results,
            at=workflow.now(),
        ),
        result_type=JoinDigestResult,
        start_to_close_timeout=timedelta(seconds=120),
        retry_policy=retries.DATABASE,
        summary=step_summary("digest", spec.step_id, len(runner.cohort)),
    )
    skipped = set(joined.skipped)
    runner.cohort = [sid for sid in runner.cohort if sid in skipped]
    # Whoever continues here (a skipped backoff event) carries just this event. Templates still render
    # without a digest (step.digest false), as in Novu; code sees one event instead of an empty window.
    return DigestResult(events=[runner.context.payload] if skipped else [], total_count=1 if skipped else 0)
