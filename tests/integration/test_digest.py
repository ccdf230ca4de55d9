"""Digest steps: one accumulator per subscriber + digest key, exactly one send per window."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.support import Env, Stack, eventually
from tests.timing_support import (
    define,
    details,
    digest,
    digest_accumulator,
    in_app,
    in_app_contents,
    settle_digests,
    step,
    time_skipping_stack,
)
from workflows.models import DIGEST_ACCUMULATOR_WORKFLOW, AccumulatorInput, DigestSignal


async def trigger_all(env: Env, name: str, to: object, payloads: list[dict], prefix: str) -> list[str]:
    txs = [f"{prefix}-{i}" for i in range(len(payloads))]
    responses = await asyncio.gather(
        *(env.trigger(name, to, p, transactionId=tx) for p, tx in zip(payloads, txs, strict=True))
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    return txs


async def wait_messages(
    env: Env, sid: str, count: int, step_id: str | None = None, timeout: float = 30
) -> list[str]:
    async def check() -> list[str] | None:
        found = await in_app_contents(env, sid, step_id)
        return found if len(found) >= count else None

    return await eventually(check, timeout=timeout)  # type: ignore[no-any-return]


async def test_concurrent_triggers_send_one_digest(env: Env) -> None:
    await define(
        env,
        "digest-10",
        [
            digest(amount=3),
            in_app(
                "after", "{{ step.total_count }} events: {% for e in step.events %}{{ e.n }},{% endfor %}"
            ),
        ],
    )
    txs = await trigger_all(env, "digest-10", "ann", [{"n": i} for i in range(10)], "c10")
    await asyncio.gather(*(env.settle(tx) for tx in txs))
    await wait_messages(env, "ann", 1)
    await settle_digests(env)
    found = await in_app_contents(env, "ann")
    assert len(found) == 1, found
    assert found[0].startswith("10 events: ")
    assert sorted(int(n) for n in found[0].split(": ")[1].strip(",").split(",")) == list(range(10))
    assert (await details(env, "c10-3")).count("Step digested") == 1


async def test_digest_keys_make_separate_groups(env: Env) -> None:
    await define(
        env,
        "digest-keys",
        [digest(amount=3, digestKey="post.id"), in_app("after", "{{ post.id }}:{{ step.total_count }}")],
    )
    payloads = [{"post": {"id": "a"}}] * 3 + [{"post": {"id": "b"}}] * 2 + [{}] * 2
    txs = await trigger_all(env, "digest-keys", "kim", payloads, "keys")
    await asyncio.gather(*(env.settle(tx) for tx in txs))
    await wait_messages(env, "kim", 3)
    await settle_digests(env)
    assert sorted(await in_app_contents(env, "kim")) == sorted(["a:3", "b:2", ":2"])


async def test_two_digest_steps_in_one_workflow(env: Env) -> None:
    await define(
        env,
        "digest-twice",
        [
            digest("d1", amount=1),
            in_app("first", "d1 {{ step.total_count }}"),
            digest("d2", amount=5),
            in_app("second", "d2 {{ step.total_count }}"),
        ],
    )
    await trigger_all(env, "digest-twice", "two", [{"i": i} for i in range(3)], "tw-a")
    await wait_messages(env, "two", 1, "first")
    await trigger_all(env, "digest-twice", "two", [{"i": i} for i in range(2)], "tw-b")
    assert sorted(await wait_messages(env, "two", 2, "first")) == ["d1 2", "d1 3"]
    assert await wait_messages(env, "two", 1, "second", timeout=20) == ["d2 2"]


async def test_backoff_first_event_goes_out_at_once(env: Env) -> None:
    await define(
        env,
        "digest-backoff",
        [
            digest(type="backoff", backoff=True, amount=2, backoffAmount=30, backoffUnit="seconds"),
            in_app(
                "after", "{% if step.digest %}digest of {{ step.total_count }}{% else %}single{% endif %}"
            ),
        ],
    )
    await trigger_all(env, "digest-backoff", "bo", [{}], "bo-first")
    await env.settle("bo-first-0")
    assert await in_app_contents(env, "bo") == ["single"]
    assert "Digest was skipped, first backoff event" in await details(env, "bo-first-0")
    txs = await trigger_all(env, "digest-backoff", "bo", [{}, {}, {}], "bo-next")
    await asyncio.gather(*(env.settle(tx) for tx in txs))
    await wait_messages(env, "bo", 2)
    await settle_digests(env)
    assert await in_app_contents(env, "bo") == ["single", "digest of 3"]


async def test_concurrent_digest_and_throttle_on_both_backends(any_stack: Stack) -> None:
    """The database arbitrates digests and throttles the same way on PostgreSQL and SQLite."""
    env = await any_stack.new_env()
    await define(env, "digest-any", [digest(amount=3), in_app("after", "{{ step.total_count }}")])
    any_txs = await trigger_all(env, "digest-any", "any", [{"n": i} for i in range(6)], "any")
    await asyncio.gather(*(env.settle(tx) for tx in any_txs))
    assert await wait_messages(env, "any", 1) == ["6"]
    await define(
        env,
        "throttle-any",
        [step("limit", "throttle", threshold=2, amount=1, unit="hours"), in_app("t", "t")],
    )
    txs = await trigger_all(env, "throttle-any", "thr-any", [{}] * 5, "thr-any")
    await asyncio.gather(*(env.settle(tx) for tx in txs))
    assert len(await in_app_contents(env, "thr-any")) == 2
    await settle_digests(env)
    assert await in_app_contents(env, "any") == ["6"]


async def run_chain(client: Client, workflow_id: str, first_run: str) -> list[str]:
    """The runs of one workflow ID, following continue-as-new from ``first_run`` (from each run's own
    history, so it does not depend on visibility)."""
    runs = [first_run]
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=runs[-1]).fetch_history()
        last = history.events[-1]
        if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, last
            return runs
        runs.append(last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id)


async def test_long_window_continues_as_new_without_losing_events(stack: Stack) -> None:
    """An accumulator that received ``max_events_per_run`` events continues-as-new mid-window, carrying
    them: history stays bounded and the window still sends once with every event.

    The window is closed by moving the time-skipping server's clock, after every event joined, so no
    event can miss it. The accumulator checks its count once per workflow task, so a run may take more
    than ``max_events_per_run`` signals before it continues: only "more than one run" is guaranteed."""
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        workflow_row = await define(
            env, "digest-can", [digest(amount=5), in_app("after", "{{ step.total_count }}")]
        )
        resp = await env.http.post("/v1/subscribers", json={"subscriberId": "can"})
        assert resp.status_code == 201, resp.text
        internal = (await env.sql("select id from subscribers where environment_id = :e", e=env.id))[0][0]
        accumulator = digest_accumulator(env.id, workflow_row, "can")
        client = skipping.client
        # Started ahead of the triggers with a low limit; the triggers' signal-with-start reach this run.
        window_end = await server.get_current_time() + timedelta(hours=1)
        handle = await client.start_workflow(
            DIGEST_ACCUMULATOR_WORKFLOW,
            AccumulatorInput(
                environment_id=env.id, subscriber_id=internal, step_id="digest", max_events_per_run=3
            ),
            id=accumulator,
            task_queue=skipping.settings.task_queue,
            start_signal="add",
            start_signal_args=[
                DigestSignal(transaction_id="can-opener", window_end=window_end)
            ],  # names no trigger: it only opens the window
        )
        first_run = (await handle.describe()).run_id  # before any trigger: it cannot have continued
        for i in range(8):
            resp = await env.trigger("digest-can", "can", {"i": i}, transactionId=f"can-{i}")
            assert resp.status_code == 201
            await env.settle(f"can-{i}")
        pending = await env.sql(
            "select count(*) from digest_events where environment_id = :e and status = 'pending'", e=env.id
        )
        assert pending[0][0] == 8
        assert await in_app_contents(env, "can") == []  # the window is still open
        await server.sleep(timedelta(hours=2))
        assert await wait_messages(env, "can", 1) == ["8"]
        runs = await run_chain(client, accumulator, first_run)
        assert len(runs) >= 2  # 8 events, 3 per run at the least: it continued as new mid-window
        fired = await env.sql(
            "select count(distinct fired_by), count(*) from digest_events where environment_id = :e "
            "and status = 'fired'",
            e=env.id,
        )
        assert list(fired[0]) == [1, 8]  # one window, every event
        assert await in_app_contents(env, "can") == ["8"]  # the chain completed: nothing more comes


async def test_events_across_window_boundaries_are_sent_once(env: Env) -> None:
    """A steady stream over several short windows: every event is sent in exactly one window, including
    those that arrive while a window is closing."""
    await define(env, "digest-stream", [digest(amount=1), in_app("after", "{{ step.total_count }}")])
    for i in range(20):
        assert (
            await env.trigger("digest-stream", "str", {"i": i}, transactionId=f"st-{i}")
        ).status_code == 201
        await asyncio.sleep(0.15)

    async def all_fired() -> list[int] | None:
        rows = await env.sql(
            "select count(*), count(distinct fired_by) from digest_events where environment_id = :e and status = 'fired'",
            e=env.id,
        )
        return list(rows[0]) if rows[0][0] == 20 else None

    fired, windows = await eventually(all_fired, timeout=30)
    assert windows >= 2

    async def sent() -> list[str] | None:
        found = await in_app_contents(env, "str")
        return found if len(found) >= windows else None

    found = await eventually(sent, timeout=30)
    await asyncio.gather(*(env.settle(f"st-{i}") for i in range(20)))
    await settle_digests(env)
    assert len(await in_app_contents(env, "str")) == windows
    assert sum(int(c) for c in found) == 20
