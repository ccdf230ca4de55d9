"""The Temporal workflow behind every trigger. Its ID is ``<environmentId>:<transactionId>``, so a
transaction runs once however often it is triggered (start with USE_EXISTING / REJECT_DUPLICATE).

Small audiences (one cohort) run here, in this one execution. A larger audience (topics, broadcast)
continues-as-new into the fan-out workflow (:mod:`workflows.fanout`) under the same workflow ID, so
cancelling ``<environmentId>:<transactionId>`` cancels the fan-out too.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows import retries

with workflow.unsafe.imports_passed_through():
    from workflows.catalog import code_workflow
    from workflows.dsl import AnyPayload
    from workflows.models import (
        AUDIENCE_PAGE,
        FANOUT_WORKFLOW,
        NOTIFICATION_WORKFLOW,
        PROGRESS_QUERY,
        RESOLVE_RECIPIENTS,
        Audience,
        AudiencePage,
        AudiencePageInput,
        DetailRecord,
        FanoutInput,
        FanoutProgress,
        ResolveInput,
        ResolveResult,
        RunInput,
        RunResult,
        TransactionCompleted,
    )

from workflows.details import record_details
from workflows.engine import StepRunner

#: Subscribers per cohort: one activity per channel step delivers to all of them with bulk writes.
COHORT_SIZE = 500


def completion(
    run: RunInput, subscribers: int, steps: dict[str, dict[str, int]], ok: bool
) -> TransactionCompleted:
    ctx = run.context
    return TransactionCompleted(
        environment_id=ctx.environment_id,
        transaction_id=ctx.transaction_id,
        workflow=ctx.workflow.identifier,
        status="completed" if ok else "failed",
        subscribers=subscribers,
        steps=steps,
        resumed=run.resume is not None,
    )


async def run_cohort(
    run: RunInput, cohort: list[str], extra: list[DetailRecord] | None = None, *, last: bool = False
) -> RunResult:
    """Run the notification workflow's steps for one cohort (the engine's unit of work).

    ``last``: this cohort is the whole transaction, so its end is the transaction's completion."""
    ctx = run.context
    entry = code_workflow(ctx.workflow.identifier) if ctx.workflow.origin == "code" else None
    model = entry.payload_model if entry else AnyPayload
    runner = StepRunner(run, cohort, model.model_validate(ctx.payload))
    ok = False
    try:
        await runner.run_definition()
        ok = True
    finally:
        done = completion(run, len(cohort), runner.summary, ok) if last else None
        await record_details(runner.take_details() + (extra or []), done)
    return RunResult(subscribers=len(cohort), steps=runner.summary)


async def audience_page(request: AudiencePageInput) -> AudiencePage:
    return await workflow.execute_local_activity(
        AUDIENCE_PAGE,
        request,
        result_type=AudiencePage,
        start_to_close_timeout=timedelta(seconds=60),
        retry_policy=retries.DATABASE,
    )


def audience_of(run: RunInput, resolved: ResolveResult) -> Audience | None:
    """Topic members (minus those listed explicitly and the actor) or, for a broadcast, everyone."""
    if run.broadcast:
        return Audience(broadcast=True)
    if not resolved.topic_ids:
        return None
    exclude = list(resolved.subscriber_ids)
    if resolved.actor_id and resolved.actor_id not in exclude:
        exclude.append(resolved.actor_id)
    return Audience(topic_ids=resolved.topic_ids, exclude=exclude)


@workflow.defn(name=NOTIFICATION_WORKFLOW)
class NotificationWorkflow:
    """Resolve the recipients, then run the notification workflow's steps for them."""

    def __init__(self) -> None:
        self.progress = FanoutProgress()

    @workflow.query(name=PROGRESS_QUERY)
    def get_progress(self) -> FanoutProgress:
        return self.progress

    @workflow.run
    async def run(self, run: RunInput) -> RunResult:
        cohort = run.subscriber_ids
        if cohort is None:
            resolved = await workflow.execute_local_activity(
                RESOLVE_RECIPIENTS,
                ResolveInput(context=run.context, to=run.to),
                result_type=ResolveResult,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=retries.DATABASE,
            )
            if resolved.missing_topics:
                self.progress.finished = True
                return RunResult()
            cohort = resolved.subscriber_ids
            audience = audience_of(run, resolved)
            if audience is not None:
                room = COHORT_SIZE - len(cohort)
                first = AudiencePage(has_more=True)
                if room > 0:
                    first = await audience_page(
                        AudiencePageInput(
                            context=run.context, audience=audience, limit=room, open_notifications=True
                        )
                    )
                if first.has_more:
                    # Same workflow ID, new type: the fan-out (its stubs only type-check class targets).
                    workflow.continue_as_new(
                        FanoutInput(run=run, audience=audience, explicit=cohort, cohort_size=COHORT_SIZE),
                        workflow=FANOUT_WORKFLOW,  # type: ignore[arg-type]
                    )
                cohort = cohort + first.ids
        self.progress.total = len(cohort)
        self.progress.cohorts_started = 1
        result = await run_cohort(run, cohort, last=True)
        self.progress.done = len(cohort)
        self.progress.cohorts_done = 1
        self.progress.steps = result.steps
        self.progress.finished = True
        return result
