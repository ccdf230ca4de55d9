"""Fan-out to large audiences: cohort child workflows, a few at a time, with continue-as-new.

The parent (workflow ID ``<env>:<tx>``, reached by continue-as-new from the notification workflow)
holds only a keyset cursor: for each cohort it asks for the boundary of the next ``cohort_size``
audience ids, and starts child ``<env>/tx-<digest>/cohort:<n>`` (:func:`fork_id`) for the range ``(after, until]``. The child
loads its ids, opens their notification rows and runs the steps through the same engine as a small
trigger. At most ``PARALLEL_COHORTS`` children run at once (bounded pending children), and after
``cohorts_per_run`` cohorts (or when Temporal suggests it) the parent drains its children and
continues as new, so the history stays small for any audience size. Message rows are unique per
(transaction, subscriber, step), so a cohort re-run after a worker crash sends nothing twice.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

from workflows import retries

with workflow.unsafe.imports_passed_through():
    from workflows.models import (
        COHORT_WORKFLOW,
        COUNT_AUDIENCE,
        FANOUT_WORKFLOW,
        PROGRESS_QUERY,
        AudiencePageInput,
        CohortInput,
        CountAudienceInput,
        DetailRecord,
        FanoutInput,
        FanoutProgress,
        RunInput,
        RunResult,
        fork_id,
    )

from workflows.details import Detail, DetailStatus, detail_record, record_details
from workflows.notification import audience_page, completion, run_cohort

#: Cohort children running at once; enough to keep two cores busy, far below Temporal's pending limits.
PARALLEL_COHORTS = 4


def detail(
    run: RunInput, text: str, *, status: str = DetailStatus.SUCCESS, raw: object = None
) -> DetailRecord:
    return detail_record(run.context, text, status=status, raw=raw)


def add_steps(total: dict[str, dict[str, int]], part: dict[str, dict[str, int]]) -> None:
    for step_id, counts in part.items():
        into = total.setdefault(step_id, {})
        for key, value in counts.items():
            into[key] = into.get(key, 0) + value


@workflow.defn(name=FANOUT_WORKFLOW)
class FanoutWorkflow:
    """Deliver a transaction to a large audience in cohorts; query ``progress`` for done/total."""

    def __init__(self) -> None:
        self.progress = FanoutProgress()

    @workflow.query(name=PROGRESS_QUERY)
    def get_progress(self) -> FanoutProgress:
        return self.progress

    @workflow.run
    async def run(self, state: FanoutInput) -> RunResult:
        self.progress = state.progress
        if not state.counted:
            await self.count(state)
        running: dict[int, asyncio.Task[RunResult]] = {}
        started = 0
        try:
            while True:
                room = started < state.cohorts_per_run and not workflow.info().is_continue_as_new_suggested()
                if room and not state.exhausted and len(running) < PARALLEL_COHORTS:
                    cohort = await self.next_cohort(state)
                    if cohort is not None:
                        running[cohort.index] = asyncio.create_task(self.run_child(cohort))
                        started += 1
                    continue
                if not running:
                    break
                await workflow.wait(list(running.values()), return_when=asyncio.FIRST_COMPLETED)
                for index in [i for i, task in running.items() if task.done()]:
                    await self.collect(state, index, running.pop(index))
        except asyncio.CancelledError:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)
            raw = self.progress.model_dump(exclude={"finished"})
            await record_details(
                [detail(state.run, Detail.FANOUT_CANCELLED, status=DetailStatus.WARNING, raw=raw)]
            )
            raise
        if not state.exhausted:
            workflow.continue_as_new(state)
        self.progress.finished = True
        await record_details(
            [detail(state.run, Detail.FANOUT_FINISHED, raw=self.progress.model_dump(exclude={"finished"}))],
            completion(state.run, self.progress.done, self.progress.steps, self.progress.cohorts_failed == 0),
        )
        return RunResult(subscribers=self.progress.done, steps=self.progress.steps)

    async def count(self, state: FanoutInput) -> None:
        members = await workflow.execute_local_activity(
            COUNT_AUDIENCE,
            CountAudienceInput(context=state.run.context, audience=state.audience),
            result_type=int,
            start_to_close_timeout=timedelta(seconds=120),
            retry_policy=retries.DATABASE,
        )
        state.counted = True
        self.progress.total = members + len(state.explicit)
        raw = {"subscribers": self.progress.total, "cohortSize": state.cohort_size}
        await record_details([detail(state.run, Detail.FANOUT_STARTED, raw=raw)])

    async def next_cohort(self, state: FanoutInput) -> CohortInput | None:
        """The next cohort: a slice of the explicit recipients, then the audience's next keyset range."""
        index = state.next_cohort
        size = state.cohort_size
        explicit_cohorts = -(-len(state.explicit) // size)
        run = state.run.model_copy(update={"to": [], "subscriber_ids": None})
        if index < explicit_cohorts:
            ids = state.explicit[index * size : (index + 1) * size]
            state.next_cohort += 1
            return CohortInput(run=run.model_copy(update={"subscriber_ids": ids}), index=index)
        page = await audience_page(
            AudiencePageInput(
                context=state.run.context,
                audience=state.audience,
                after=state.cursor,
                limit=size,
                with_ids=False,
            )
        )
        state.exhausted = not page.has_more
        if not page.count:
            return None
        cohort = CohortInput(
            run=run, index=index, audience=state.audience, after=state.cursor, until=page.last
        )
        state.cursor = page.last
        state.next_cohort += 1
        return cohort

    @staticmethod
    def cohort_id(cohort: CohortInput) -> str:
        """``<env>/tx-<digest>/cohort:<n>``: found by cancel without putting the transactionId in a query."""
        current = workflow.info().workflow_id
        if not workflow.patched("fork-ids-by-digest"):
            return (
                f"{current}:cohort:{cohort.index}"  # executions started before the change replay as they ran
            )
        ctx = cohort.run.context
        return fork_id(ctx.environment_id, ctx.transaction_id, current, f"cohort:{cohort.index}")

    async def run_child(self, cohort: CohortInput) -> RunResult:
        self.progress.cohorts_started += 1
        return await workflow.execute_child_workflow(
            COHORT_WORKFLOW,
            cohort,
            id=self.cohort_id(cohort),
            result_type=RunResult,
        )

    async def collect(self, state: FanoutInput, index: int, task: asyncio.Task[RunResult]) -> None:
        """Count a finished cohort; a failed one is recorded and the others carry on."""
        try:
            result = task.result()
        except (ChildWorkflowError, ActivityError, ApplicationError) as exc:
            self.progress.cohorts_failed += 1
            cause = getattr(exc, "cause", None) or exc
            await record_details(
                [
                    detail(
                        state.run,
                        Detail.COHORT_FAILED,
                        status=DetailStatus.FAILED,
                        raw={"cohort": index, "error": str(cause)},
                    )
                ]
            )
            return
        self.progress.cohorts_done += 1
        self.progress.done += result.subscribers
        add_steps(self.progress.steps, result.steps)


@workflow.defn(name=COHORT_WORKFLOW)
class CohortWorkflow:
    """One cohort of a fan-out: load its subscribers, then run the steps for all of them at once."""

    @workflow.run
    async def run(self, cohort: CohortInput) -> RunResult:
        ids = list(cohort.run.subscriber_ids or [])
        if cohort.audience is not None:
            page = await audience_page(
                AudiencePageInput(
                    context=cohort.run.context,
                    audience=cohort.audience,
                    after=cohort.after,
                    until=cohort.until,
                    open_notifications=True,
                )
            )
            ids = page.ids
        run = cohort.run.model_copy(update={"subscriber_ids": ids})
        done = detail(run, Detail.COHORT_PROCESSED, raw={"cohort": cohort.index, "subscribers": len(ids)})
        return await run_cohort(run, ids, extra=[done])
