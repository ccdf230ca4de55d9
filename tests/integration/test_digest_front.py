"""The digest front door (docs/digest.md): a trigger whose workflow starts with a digest goes to the
accumulator in the API's one Temporal call. Counted once per transactionId, cancellable, one message
per digest key — all checked after every workflow involved has completed (no sleeps, no clocks)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.integration.test_digest import run_chain
from tests.support import Env, Stack, eventually
from tests.timing_support import (
    define,
    details,
    digest,
    digest_accumulator,
    in_app,
    in_app_contents,
    settle_digests,
    time_skipping_stack,
)
from workflows.models import DIGEST_ACCUMULATOR_WORKFLOW, AccumulatorInput, DigestSignal, execution_id

#: Triggers of the concurrent burst (fewer than an accumulator run's max_events_per_run).
BURST = 150
EVENTS = "{{ step.total_count }}:{% for e in step.events %}{{ e.n }},{% endfor %}"


async def has_execution(env: Env, client: Client, tx: str) -> bool:
    try:
        await client.get_workflow_handle(execution_id(env.id, tx)).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def test_front_door_digest_sends_once_without_trigger_executions(env: Env) -> None:
    """No execution per trigger; every transaction is still in the feed and its execution details."""
    await define(env, "front-basic", [digest(amount=2), in_app("after", EVENTS)])
    txs = [f"fb-{i}" for i in range(5)]
    for i, tx in enumerate(txs):
        resp = await env.trigger("front-basic", "fanny", {"n": i}, transactionId=tx)
        assert resp.status_code == 201, resp.text
        assert resp.json()["data"] == {"acknowledged": True, "status": "processed", "transactionId": tx}
    await asyncio.gather(*(env.settle(tx) for tx in txs))
    await settle_digests(env)
    assert await in_app_contents(env, "fanny") == ["5:0,1,2,3,4,"]
    assert not any([await has_execution(env, env.stack.client, tx) for tx in txs])
    for tx in txs:
        assert "Step digested" in await details(env, tx), tx
    listed = await env.sql(
        "select transaction_id from notifications where environment_id = :e order by transaction_id", e=env.id
    )
    assert [tx for (tx,) in listed] == txs


async def test_a_window_larger_than_temporal_takes_is_sent_with_its_oldest_events(env: Env) -> None:
    """Twelve events of 200 KB each (every trigger within its 512 KiB) make a window Temporal would refuse
    to carry (2 MB): the notification still goes out once, counting all twelve, with the oldest events
    that fit, and a warning detail says how many were left out."""
    await define(env, "front-big", [digest(amount=2), in_app("after", EVENTS)])
    blob = "x" * 200_000
    txs = [f"big-{i}" for i in range(12)]
    for i, tx in enumerate(txs):
        resp = await env.trigger("front-big", "bigsub", {"n": i, "blob": blob}, transactionId=tx)
        assert resp.status_code == 201, resp.text
    await asyncio.gather(*(env.settle(tx) for tx in txs))
    await settle_digests(env)
    rows = await env.sql(
        "select raw from execution_details where environment_id = :e and detail = 'Digest events truncated'",
        e=env.id,
    )
    assert len(rows) == 1, rows
    raw = json.loads(rows[0][0]) if isinstance(rows[0][0], str) else rows[0][0]
    kept = raw["events"]
    assert 0 < kept < 12 and raw["total_count"] == 12
    assert await in_app_contents(env, "bigsub") == ["12:" + "".join(f"{i}," for i in range(kept))]


async def test_the_accumulator_names_its_workflow_and_subscriber_in_200_characters(env: Env) -> None:
    """The Temporal UI's summary of a front-door accumulator: workflow and subscriber, cut at 200
    characters (the subscriberId is tenant text of any length)."""
    row = await define(env, "front-summary", [digest(amount=1), in_app("after", EVENTS)])
    subscriber = "s" * 300
    resp = await env.trigger("front-summary", subscriber, {"n": 1}, transactionId="fs-1")
    assert resp.status_code == 201, resp.text
    accumulator = digest_accumulator(env.id, row, subscriber)
    summary = await (await env.stack.client.get_workflow_handle(accumulator).describe()).static_summary()
    assert summary == f"digest · front-summary → {subscriber}"[:200]
    await env.settle("fs-1")
    await settle_digests(env)


async def test_steps_before_the_digest_keep_the_execution_path(env: Env) -> None:
    """An inactive step before the digest is skipped (front door); an active one keeps the execution."""
    inactive = {**in_app("first", "before"), "active": False}
    await define(env, "front-inactive", [inactive, digest(amount=1), in_app("after", EVENTS)])
    await define(env, "front-after", [in_app("first", "before"), digest(amount=1), in_app("after", EVENTS)])
    assert (await env.trigger("front-inactive", "ivy", {"n": 1}, transactionId="fi-1")).status_code == 201
    assert (await env.trigger("front-after", "ivy", {"n": 2}, transactionId="fa-1")).status_code == 201
    await env.settle("fi-1")
    await env.settle("fa-1")
    assert not await has_execution(env, env.stack.client, "fi-1")
    assert await has_execution(env, env.stack.client, "fa-1")
    await settle_digests(env)
    assert sorted(await in_app_contents(env, "ivy")) == ["1:1,", "1:2,", "before"]


async def test_duplicate_transaction_is_counted_once_across_continue_as_new(stack: Stack) -> None:
    """Re-sent transactionIds, some after the accumulator continued as new (3 events a run): each event
    is in the one message once. The window is closed by moving the time-skipping server's clock."""
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        workflow_row = await define(env, "front-dup", [digest(amount=5), in_app("after", EVENTS)])
        accumulator = digest_accumulator(env.id, workflow_row, "dupe")
        # Started ahead of the triggers with a low limit; the API's signal-with-start reaches this run.
        window_end = await server.get_current_time() + timedelta(hours=1)
        handle = await skipping.client.start_workflow(
            DIGEST_ACCUMULATOR_WORKFLOW,
            AccumulatorInput(environment_id=env.id, subscriber_id="", step_id="digest", max_events_per_run=3),
            id=accumulator,
            task_queue=skipping.settings.task_queue,
            start_signal="add",
            start_signal_args=[DigestSignal(transaction_id="dup-opener", window_end=window_end)],
        )
        first_run = (await handle.describe()).run_id
        sent = [0, 1, 2, 3, 0, 4, 5, 1, 6, 3, 0]  # 0, 1 and 3 again, after one or two continue-as-new
        for n in sent:
            resp = await env.trigger("front-dup", "dupe", {"n": n}, transactionId=f"dup-{n}")
            assert resp.status_code == 201, resp.text
            assert resp.json()["data"]["status"] == "processed"
            await env.settle(f"dup-{n}")
        await server.sleep(timedelta(hours=2))
        await settle_digests(env, client=skipping.client)
        assert len(await run_chain(skipping.client, accumulator, first_run)) >= 3  # continued mid-window
        assert await in_app_contents(env, "dupe") == ["7:0,1,2,3,4,5,6,"]


async def test_cancel_removes_events_from_the_open_window(stack: Stack) -> None:
    """Cancelled after the accumulator recorded it, or before (the cancel mark is written first): either
    way the event is left out of the one message; the others are sent."""
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        await define(env, "front-cancel", [digest(amount=1, unit="hours"), in_app("after", EVENTS)])
        for n in (1, 2, 3):
            assert (
                await env.trigger("front-cancel", "cora", {"n": n}, transactionId=f"fc-{n}")
            ).status_code == 201
            await env.settle(f"fc-{n}")
        resp = await env.http.delete("/v1/events/trigger/fc-2")
        assert resp.status_code == 200 and resp.json()["data"] is True, resp.text
        # Cancelled before the accumulator can have recorded it: the record reads the cancel mark.
        resp = await env.http.delete("/v1/events/trigger/fc-4")
        assert resp.status_code == 200, resp.text
        assert (await env.trigger("front-cancel", "cora", {"n": 4}, transactionId="fc-4")).status_code == 201
        await env.settle("fc-4")
        await server.sleep(timedelta(hours=2))
        await settle_digests(env, client=skipping.client)
        assert await in_app_contents(env, "cora") == ["2:1,3,"]
        statuses = await env.sql(
            "select transaction_id, status from digest_events where environment_id = :e order by transaction_id",
            e=env.id,
        )
        assert [tuple(r) for r in statuses] == [
            ("fc-1", "fired"),
            ("fc-2", "cancelled"),
            ("fc-3", "fired"),
            ("fc-4", "cancelled"),
        ]


async def test_two_digest_keys_send_two_messages(stack: Stack) -> None:
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        await define(
            env, "front-keys", [digest(amount=1, unit="hours", digestKey="post"), in_app("after", EVENTS)]
        )
        events = [("a", 1), ("b", 2), ("a", 3), ("b", 4), ("b", 5)]
        for i, (post, n) in enumerate(events):
            resp = await env.trigger("front-keys", "kim", {"post": post, "n": n}, transactionId=f"fk-{i}")
            assert resp.status_code == 201, resp.text
            await env.settle(f"fk-{i}")
        await server.sleep(timedelta(hours=2))
        await settle_digests(env, client=skipping.client)

        async def both() -> list[str] | None:
            found = await in_app_contents(env, "kim")
            return found if len(found) >= 2 else None

        await eventually(both)
        assert sorted(await in_app_contents(env, "kim")) == ["2:1,3,", "3:2,4,5,"]


async def test_a_concurrent_burst_shares_signals_and_counts_each_event_once(stack: Stack) -> None:
    """Triggers for one subscriber's digest arriving together ride shared signals (api/signal_batch.py):
    fewer signals than triggers reach the accumulator, each answered 201 only once its signal was sent, and
    transactionIds re-sent within the burst are counted once."""
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        row = await define(env, "front-burst", [digest(amount=1, unit="hours"), in_app("after", EVENTS)])
        sent = [*range(BURST), *range(0, BURST, 5)]  # every fifth event twice, concurrently
        gate = asyncio.Semaphore(50)

        async def fire(n: int) -> None:
            async with gate:
                resp = await env.trigger("front-burst", "bree", {"n": n}, transactionId=f"fbu-{n}")
                assert resp.status_code == 201, resp.text

        await asyncio.gather(*(fire(n) for n in sent))
        accumulator = digest_accumulator(env.id, row, "bree")
        handle = skipping.client.get_workflow_handle(accumulator)
        first_run = (await handle.describe()).raw_description.workflow_execution_info.first_run_id
        await server.sleep(timedelta(hours=2))
        await settle_digests(env, client=skipping.client)
        [content] = await in_app_contents(env, "bree")  # one message; events in arrival order
        count, numbers = content.split(":")
        assert int(count) == BURST and sorted(int(n) for n in numbers.rstrip(",").split(",")) == list(
            range(BURST)
        )
        signals = 0
        for run in await run_chain(skipping.client, accumulator, first_run):
            history = await skipping.client.get_workflow_handle(accumulator, run_id=run).fetch_history()
            signals += sum(
                e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED for e in history.events
            )
        assert 0 < signals < len(sent), f"{signals} signals for {len(sent)} triggers"
