"""Temporal's own floor: the bare workflows the baselines run, and their worker (``python -m bench.baseline``).

The worker runs in its own process, on its own task queue, against the same dev server and app database
as Tidings, with the same worker knobs as ``worker.py`` so the ratios measure Tidings' own overhead.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy

NOOP = "BenchNoop"
INSERT_ONE = "BenchInsertOne"
SIGNAL_SINK = "BenchSignalSink"
SLOW_ONE = "BenchSlowOne"
#: What the slow provider fake and the baseline's activity both take to answer (``e2e_slow_provider_rate``).
PROVIDER_DELAY_MS = 200


class InsertInput(BaseModel):
    environment_id: str
    subscriber_id: str
    transaction_id: str


class SinkInput(BaseModel):
    expected: int


@workflow.defn(name=NOOP)
class NoopWorkflow:
    @workflow.run
    async def run(self, _arg: InsertInput | None = None) -> None:
        return None


@workflow.defn(name=INSERT_ONE)
class InsertOneWorkflow:
    """A bare workflow with one local activity that stores one in-app message row."""

    @workflow.run
    async def run(self, request: InsertInput) -> None:
        await workflow.execute_local_activity(
            "bench_insert_message",
            request,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)),
        )


@workflow.defn(name=SLOW_ONE)
class SlowOneWorkflow:
    """A bare workflow with one (remote) activity that waits as long as the slow provider, then stores
    one message row: what an email step does, minus Tidings."""

    @workflow.run
    async def run(self, request: InsertInput) -> None:
        await workflow.execute_activity(
            "bench_slow_send",
            request,
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)),
        )


@workflow.defn(name=SIGNAL_SINK)
class SignalSinkWorkflow:
    """Counts ``add`` signals and finishes once it has seen ``expected`` of them."""

    def __init__(self) -> None:
        self.count = 0

    @workflow.run
    async def run(self, request: SinkInput) -> int:
        await workflow.wait_condition(lambda: self.count >= request.expected)
        return self.count

    @workflow.signal(name="add")
    def add(self, _item: int) -> None:
        self.count += 1

    @workflow.query(name="count")
    def seen(self) -> int:
        return self.count


def message_row(request: InsertInput) -> dict[str, object]:
    """The same in-app message row an in-app step stores (minus rendering)."""
    return {
        "environment_id": request.environment_id,
        "subscriber_id": request.subscriber_id,
        "transaction_id": request.transaction_id,
        "step_id": "s1",
        "channel": "in_app",
        "provider_id": "novu",
        "content": "Hi Ada",
        "payload": {"name": "Ada"},
        "overrides": {},
        "cta": {"type": "redirect", "data": {}},
    }


class InsertActivities:
    def __init__(self, db: object) -> None:
        self.db = db

    @activity.defn(name="bench_insert_message")
    async def insert_message(self, request: InsertInput) -> None:
        from store.messages import record_messages

        db = self.db
        async with db.session() as session:  # type: ignore[attr-defined]
            await record_messages(db=db, session=session, rows=[message_row(request)])  # type: ignore[arg-type]

    @activity.defn(name="bench_slow_send")
    async def slow_send(self, request: InsertInput) -> None:
        await asyncio.sleep(PROVIDER_DELAY_MS / 1000)
        await self.insert_message(request)


async def run_worker(address: str, database_url: str, task_queue: str) -> None:
    from temporalio.worker import Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    from store.db import Database
    from tidings.settings import Settings
    from tidings.temporal import connect

    db = Database(database_url)
    # The same worker knobs as worker.py (TIDINGS_WORKER_*), so both sides wait with the same concurrency.
    settings = Settings()
    client = await connect(address, "default")
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[NoopWorkflow, InsertOneWorkflow, SlowOneWorkflow, SignalSinkWorkflow],
        activities=[InsertActivities(db).insert_message, InsertActivities(db).slow_send],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("pydantic", "pydantic_core")
        ),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=2),
        max_cached_workflows=settings.worker_max_cached_workflows,
        max_concurrent_workflow_tasks=settings.worker_max_workflow_tasks or None,
        max_concurrent_activities=settings.worker_max_activities,
        max_concurrent_local_activities=200,  # as before: the e2e baseline's single-row writes
    )
    try:
        await worker.run()
    finally:
        await db.dispose()


def main() -> None:
    try:
        asyncio.run(
            run_worker(
                os.environ["BENCH_TEMPORAL_ADDRESS"],
                os.environ["BENCH_DATABASE_URL"],
                os.environ["BENCH_TASK_QUEUE"],
            )
        )
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    # Run through the importable module so the workflow classes live in ``bench.baseline``, not ``__main__``.
    from bench.baseline import main as _main

    _main()
