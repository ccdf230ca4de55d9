"""The digest accumulator: one Temporal workflow per environment + notification workflow + digest step +
subscriber + digest-key value, reached by signal-with-start.

Each run holds one window. The first event's ``window_end`` closes it; the events received by then fire
together (one execution of the steps after the digest); events that arrive while the window is firing
are carried into the next run by continue-as-new, so none is lost and history stays bounded. The app
database arbitrates what is sent: an event cancelled meanwhile is left out by the fire activity.

Events the API hands over directly (the digest is the workflow's first active step, docs/digest.md)
carry their context; the accumulator records them in the database in batches as they arrive (their
subscriber, notification row, digest membership, "digested" detail), then keeps only the transactionId.
Histories without such events run exactly the commands they always did.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows import retries

with workflow.unsafe.imports_passed_through():
    from workflows.models import (
        DIGEST_ACCUMULATOR_WORKFLOW,
        FIRE_DIGEST,
        RECORD_DIGEST_EVENTS,
        AccumulatorInput,
        DigestSignal,
        FireDigestInput,
        FireDigestResult,
        RecordDigestInput,
        RecordDigestResult,
        counted,
        leading_batch,
    )

ADD_SIGNAL = "add"
#: Front-door events the API coalesced into one signal (api/signal_batch.py): each counts as one ``add``.
ADD_MANY_SIGNAL = "add-many"
#: One record activity takes at most this many front-door events, and about this many bytes of them
#: (Temporal refuses payloads over 2 MB; one trigger may be 512 KB).
RECORD_BATCH_EVENTS = 100
RECORD_BATCH_BYTES = 1_000_000
#: Events not yet recorded that a continue-as-new may carry in its input (which also holds every
#: recorded transactionId of the window).
CARRY_EVENT_BYTES = 256_000


#: Continue-as-new after ``max_events_per_run`` events even while front-door events keep arriving (their
#: recording used to keep the run going: a 10,000-event burst became one 10,000-signal history).
ROLL_OVER_PATCH = "digest-roll-over-under-inflow"


# Not sandboxed: the sandbox runs each payload's serialization-context lookup through ``exec`` with its
# import hooks applied — 0.6 ms per signal against 0.27 ms without (a 10,000-signal history replays in
# 6.1 s against 2.7 s), and a burst of signals in one activation then passes the SDK's 2 s deadlock limit
# (bench/README.md, full scale). This class runs no tenant or user code; it stays deterministic by review
# and by the digest tests (no I/O, ``workflow.now()`` only, lists and dicts, no set iteration).
@workflow.defn(name=DIGEST_ACCUMULATOR_WORKFLOW, sandboxed=False)
class DigestAccumulator:
    @workflow.init
    def __init__(self, state: AccumulatorInput) -> None:
        self.pending: list[DigestSignal] = list(state.pending)
        self.recent = list(state.recent)
        self.seen = {e.transaction_id for e in self.pending} | set(self.recent)
        self.received = 0
        self.subscriber_id = state.subscriber_id
        self.unrecorded = [e for e in self.pending if e.event is not None]

    @workflow.signal(name=ADD_SIGNAL)
    def add(self, event: DigestSignal) -> None:
        """Signals are at-least-once: an event already held (or just fired) is ignored."""
        if event.transaction_id in self.seen:
            return
        self.seen.add(event.transaction_id)
        self.pending.append(event)
        self.received += 1
        if event.event is not None:
            self.unrecorded.append(event)

    @workflow.signal(name=ADD_MANY_SIGNAL)
    def add_many(self, events: list[DigestSignal]) -> None:
        for event in events:
            self.add(event)

    @workflow.run
    async def run(self, state: AccumulatorInput) -> FireDigestResult:
        if not self.pending:
            return FireDigestResult()
        while (remaining := (self.pending[0].window_end - workflow.now()).total_seconds()) > 0:
            try:
                await workflow.wait_condition(
                    lambda: bool(self.unrecorded) or self.received >= state.max_events_per_run,
                    timeout=timedelta(seconds=remaining),
                )
            except TimeoutError:
                break
            if self.received >= state.max_events_per_run and workflow.patched(ROLL_OVER_PATCH):
                # The next run records what is left; its input carries at most one small batch of events.
                while self.batch_size(CARRY_EVENT_BYTES) < len(self.unrecorded):
                    await self.record(state)
                workflow.continue_as_new(self.carry(state))
            if self.unrecorded:
                await self.record(state)
                continue
            workflow.continue_as_new(self.carry(state))
        while self.unrecorded:  # every event of the window is in the database before it fires
            await self.record(state)
        batch, self.pending = self.pending, []
        fired = await workflow.execute_activity(
            FIRE_DIGEST,
            FireDigestInput(
                accumulator_id=workflow.info().workflow_id,
                environment_id=state.environment_id,
                subscriber_id=self.subscriber_id,
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

    async def record(self, state: AccumulatorInput) -> None:
        """Record the oldest front-door events (one batch); afterwards only their transactionIds stay."""
        take = self.batch_size(RECORD_BATCH_BYTES)
        batch, self.unrecorded = self.unrecorded[:take], self.unrecorded[take:]
        recorded = await workflow.execute_activity(
            RECORD_DIGEST_EVENTS,
            RecordDigestInput(
                accumulator_id=workflow.info().workflow_id, step_id=state.step_id, events=batch
            ),
            result_type=RecordDigestResult,
            start_to_close_timeout=timedelta(seconds=120),
            retry_policy=retries.DATABASE,
            summary=f"digest · {state.step_id} · record {counted(len(batch), 'event')}",
        )
        self.subscriber_id = self.subscriber_id or recorded.subscriber_id or ""
        done = {e.transaction_id for e in batch}
        self.pending = [
            DigestSignal(transaction_id=e.transaction_id, window_end=e.window_end)
            if e.transaction_id in done
            else e
            for e in self.pending
        ]

    def batch_size(self, limit: int) -> int:
        """How many of the oldest unrecorded events one batch takes: up to RECORD_BATCH_EVENTS and about
        ``limit`` bytes, at least one."""
        sizes = (len(e.model_dump_json()) for e in self.unrecorded)
        return leading_batch(sizes, max_events=RECORD_BATCH_EVENTS, max_bytes=limit)

    def carry(self, state: AccumulatorInput) -> AccumulatorInput:
        return AccumulatorInput(
            environment_id=state.environment_id,
            subscriber_id=self.subscriber_id,
            step_id=state.step_id,
            pending=self.pending,
            recent=self.recent,
            max_events_per_run=state.max_events_per_run,
        )
