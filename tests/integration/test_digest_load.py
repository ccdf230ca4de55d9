"""A thousand triggers in one digest window: one send carrying all of them (time-skipping server, so the
hour-long window closes as soon as every event has joined, however slow the machine is)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
)
from temporalio.testing import WorkflowEnvironment

from tests.support import Stack, eventually
from tests.timing_support import define, digest, in_app, in_app_contents, time_skipping_stack

EVENTS = 1000
#: Signals sent while one workflow task is held: more than Temporal's default buffer of 100.
BURST = 250


async def test_thousand_triggers_one_send(stack: Stack) -> None:
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        await define(
            env, "digest-1000", [digest(amount=1, unit="hours"), in_app("after", "{{ step.total_count }}")]
        )
        gate = asyncio.Semaphore(40)

        async def fire(i: int) -> None:
            async with gate:
                resp = await env.trigger("digest-1000", "many", {"i": i}, transactionId=f"k-{i}")
                assert resp.status_code == 201, resp.text

        await asyncio.gather(*(fire(i) for i in range(EVENTS)))

        async def joined() -> str | None:
            rows = await env.sql(
                "select accumulator_id, count(*) from digest_events where environment_id = :e group by 1",
                e=env.id,
            )
            return rows[0][0] if rows and rows[0][1] >= EVENTS else None

        await eventually(joined, timeout=300, interval=0.5)
        assert await in_app_contents(env, "many") == []
        await server.sleep(timedelta(hours=1, minutes=1))

        async def sent() -> list[str] | None:
            return await in_app_contents(env, "many") or None

        assert await eventually(sent, timeout=120) == [str(EVENTS)]
        rows = await env.sql(
            "select count(*) from digest_events where environment_id = :e and status = 'fired'", e=env.id
        )
        assert rows[0][0] == EVENTS


async def test_signals_to_a_busy_workflow_do_not_fail_its_task(temporal_env: WorkflowEnvironment) -> None:
    """A burst to one accumulator while its worker is slow to answer a workflow task (a pause, a busy
    process): the embedded Temporal server (tests run it with the same settings as ``tidings dev``) buffers
    the signals instead of failing the task to flush them. At Temporal's default of 100 it did, the worker
    had to replay the run from its start, and under a burst each replay was slower than the next 100
    signals — the full-scale digest bench stalled that way (docs/digest.md, "Bursts")."""
    client = temporal_env.client
    queue = f"held-{uuid.uuid4().hex[:8]}"  # no worker polls it: this test holds the task itself
    handle = await client.start_workflow("Held", id=f"held-{uuid.uuid4().hex}", task_queue=queue)
    task = await client.workflow_service.poll_workflow_task_queue(
        PollWorkflowTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=queue), identity="slow worker"
        )
    )
    assert task.task_token, "the workflow task was not handed out"
    try:
        for i in range(BURST):  # while the task is in flight, as a slow worker's would be
            await handle.signal("add", i)
        events = [event async for event in handle.fetch_history_events()]
        failed = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
        assert failed == [], f"the held task was failed: {failed[0].workflow_task_failed_event_attributes}"
        # ...and the worker's answer is still taken: the task it holds is the current one.
        await client.workflow_service.respond_workflow_task_completed(
            RespondWorkflowTaskCompletedRequest(
                namespace=client.namespace, task_token=task.task_token, identity="slow worker"
            )
        )
        events = [event async for event in handle.fetch_history_events()]
        signalled = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
        assert len(signalled) == BURST
    finally:
        await handle.terminate("test over")
