"""The digest accumulator: one Temporal workflow per environment + notification workflow + digest step +
subscriber + digest-key value, reached by signal-with-start.

Each run holds one window. The first event's ``window_end`` closes it; the events received by then fire
together (one execution of the steps after the digest); events that arrive while the window is firing
are carried into the next run by continue-as-new, so none is lost and history stays bounded. The app
database arbitrates what is sent: an event cancelled meanwhile is left out by the fire activity.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows import retries

with workflow.unsafe.imports_passed_through():
    from workflows.models import (
        DIGEST_ACCUMULATOR_WORKFLOW,
        FIRE_DIGEST,
        AccumulatorInput,
        DigestSignal,
        FireDigestInput,
        FireDigestResult,
        counted,
    )

ADD_SIGNAL = "add"


@workflow.defn(name=DIGEST_ACCUMULATOR_WORKFLOW)
class DigestAccumulator:
    @workflow.init
    def __init__(self, state: AccumulatorInput) -> None:
        self.pending: list[DigestSignal] = list(state.pending)
        self.recent = list(state.recent)
        self.seen = {e.transaction_id for e in self.pending} | set(self.recent)
        self.received = 0

    @workflow.signal(name=ADD_SIGNAL)
    def add(self, event: DigestSignal) -> None:
        """Signals are at-least-once: an event already held (or just fired) is ignored."""
        if event.transaction_id in self.seen:
            return
        self.seen.add(event.transaction_id)
        self.pending.append(event)
        self.received += 1

    @workflow.run
    async def run(self, state: AccumulatorInput) -> FireDigestResult:
        if not self.pending:
            return FireDigestResult()
        remaining = (self.pending[0].window_end - workflow.now()).total_seconds()
        if remaining > 0:
            try:
                await workflow.wait_condition(
                    lambda: self.received >= state.max_events_per_run, timeout=timedelta(seconds=remaining)
                )
            except TimeoutError:
                pass
            else:
                workflow.continue_as_new(self.carry(state))
        batch, self.pending = self.pending, []
        fired = await workflow.execute_activity(
            FIRE_DIGEST,
            FireDigestInput(
                accumulator_id=workflow.info().workflow_id,
                environment_id=state.environment_id,
                subscriber_id=state.subscriber_id,
                step_id=state.step_id,
                transaction_ids=[e.transaction_id for e in batch],
                run_key=workflow.info().run_id,
            ),
            result_type=FireDigestResult,
            start_to_close_timeout=timedelta(seconds=120),
            retry_policy=retries.DIGEST_FIRE,
            summary=f"digest · {state.step_id} · {counted(len(batch), 'event')}",
        )
        self.recent = [e.transaction_id for e in batch]
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.pending:  # arrived while the window was firing: they open the next window
            workflow.continue_as_new(self.carry(state))
        return fired

    def carry(self, state: AccumulatorInput) -> AccumulatorInput:
        return AccumulatorInput(
            environment_id=state.environment_id,
            subscriber_id=state.subscriber_id,
            step_id=state.step_id,
            pending=self.pending,
            recent=self.recent,
            max_events_per_run=state.max_events_per_run,
        )
