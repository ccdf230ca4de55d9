"""The Temporal workflow behind every trigger. Its ID is ``<environmentId>:<transactionId>``, so a
transaction runs once however often it is triggered (start with USE_EXISTING / REJECT_DUPLICATE)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.dsl import REGISTRY, AnyPayload
    from workflows.models import (
        NOTIFICATION_WORKFLOW,
        RECORD_DETAILS,
        RESOLVE_RECIPIENTS,
        RecordDetailsInput,
        ResolveInput,
        ResolveResult,
        RunInput,
        RunResult,
    )

from workflows.engine import StepRunner

DB_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))


@workflow.defn(name=NOTIFICATION_WORKFLOW)
class NotificationWorkflow:
    """Resolve the recipients, then run the notification workflow's steps for them."""

    @workflow.run
    async def run(self, run: RunInput) -> RunResult:
        ctx = run.context
        cohort = run.subscriber_ids
        if cohort is None:
            resolved = await workflow.execute_local_activity(
                RESOLVE_RECIPIENTS,
                ResolveInput(context=ctx, to=run.to),
                result_type=ResolveResult,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=DB_RETRY,
            )
            cohort = resolved.subscriber_ids
        entry = REGISTRY.get(ctx.workflow.identifier) if ctx.workflow.origin == "code" else None
        model = entry.payload_model if entry else AnyPayload
        runner = StepRunner(run, cohort, model.model_validate(ctx.payload))
        try:
            await runner.run_definition()
        finally:
            details = runner.take_details()
            if details:
                await workflow.execute_local_activity(
                    RECORD_DETAILS,
                    RecordDetailsInput(details=details),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=DB_RETRY,
                )
        return RunResult(subscribers=len(cohort), steps=runner.summary)
