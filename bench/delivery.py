"""Delivery: triggers → in-app messages per second, and a topic fan-out (with the worker's peak RSS)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from bench.baseline import INSERT_ONE, InsertInput, message_row
from bench.load import run_n, wait_for_count
from bench.results import Row
from bench.scale import Scale, time_left
from bench.stack import INAPP_WORKFLOW, Stack, terminate_running, worker_hint
from bench.trigger import cpu_per_op, trigger_body

BATCH = 1_000


async def _deliver_one(stack: Stack, http: Any, tag: str) -> float:
    """One trigger through the live API until its message is stored; seconds taken (warms the worker)."""
    t0 = time.perf_counter()
    resp = await http.post("/v1/events/trigger", json=trigger_body(tag))
    if resp.status_code != 201:
        raise RuntimeError(f"trigger answered HTTP {resp.status_code}: {resp.text[:200]}")
    got = await wait_for_count(
        lambda: stack.count_messages(transaction_id=tag), 1, stall=60, limit=60, alive=stack.check_alive
    )
    if not got.reached:
        raise RuntimeError(
            f"no message 60 s after a trigger; the worker's log ends: {stack.procs['worker'].tail(3)}"
        )
    return time.perf_counter() - t0


#: The processes whose CPU one delivered message costs (``cpu_ms_per_delivered``). Tidings: the API that
#: takes the triggers, the worker and the Temporal server. Baseline: its worker, the Temporal server and
#: this process, which starts its workflows (the baseline's front door; it also polls the message count,
#: as it does while Tidings runs: a few ms per second).
#: Every Tidings process a delivered message costs: the API, the worker, its render sandbox children, Temporal.
TIDINGS_CPU = ("api_live", "worker", "worker_sandbox", "temporal")
BASELINE_CPU = ("baseline_worker", "temporal", "bench")
#: The share of a side's messages that must have arrived for its CPU per message to be given at all.
PARTIAL_ENOUGH = 0.9


def cpu_per_delivered(row: Row, results: dict[str, Any]) -> None:
    """Fill ``cpu_ms_per_delivered`` from the e2e sides' CPU per delivered message. A side whose wait
    ended with at least :data:`PARTIAL_ENOUGH` of its messages delivered still gives a figure, flagged in
    the note (the CPU spent on its undelivered ones is counted, so it over-states that side's cost)."""
    b, t = results["baseline"], results["tidings"]

    def enough(r: dict[str, Any]) -> bool:
        return bool(r["reached"] or r["delivered"] >= PARTIAL_ENOUGH * max(r["accepted"], 1))

    row.value = round(sum(t["cpu_ms_per_op"].get(p, 0.0) for p in TIDINGS_CPU), 2) if enough(t) else None
    row.baseline = round(sum(b["cpu_ms_per_op"].get(p, 0.0) for p in BASELINE_CPU), 2) if enough(b) else None
    row.extra = {
        "tidings_processes": {p: t["cpu_ms_per_op"].get(p) for p in TIDINGS_CPU},
        "baseline_processes": {p: b["cpu_ms_per_op"].get(p) for p in BASELINE_CPU},
        "bench_during_tidings": t["cpu_ms_per_op"].get("bench"),
        "messages": {"tidings": t["delivered"], "baseline": b["delivered"]},
    }
    partial = [
        f"{side}: {r['delivered']}/{r['accepted']} delivered when the wait ended (over-stated)"
        for side, r in results.items()
        if not r["reached"] and r["delivered"]
    ]
    if row.value is None or row.baseline is None:
        row.note = "fewer than 90% of the messages delivered on one side (see e2e_delivered_rate)"
    elif partial:
        row.note = "partial: " + "; ".join(partial)


def bare_starts(stack: Stack, workflow: str, prefix: str) -> Callable[[int], Awaitable[bool]]:
    """The baseline side of a rate row: call ``i`` starts bare ``workflow`` storing message ``prefix-i``."""

    async def start(i: int) -> bool:
        tx = f"{prefix}-{i}"
        req = InsertInput(environment_id=stack.env_id, subscriber_id=stack.subscriber_pk, transaction_id=tx)
        await stack.client.start_workflow(workflow, req, id=tx, task_queue=stack.baseline_queue)
        return True

    return start


async def race_sides(
    stack: Stack,
    row: Row,
    sides: list[tuple[str, Callable[[int], Awaitable[bool]], str]],
    count: Callable[[str], Awaitable[int]],
    *,
    n: int,
    concurrency: int,
    run: str,
    stall: float,
    limit: float,
    verb: str,
) -> dict[str, Any]:
    """Run each side's ``n`` calls at ``concurrency``, then wait until ``count(prefix)`` reaches what was
    accepted (``stall`` s without progress or ``limit`` s in all end the wait); set ``row.value`` (the
    side named "tidings") and ``row.baseline`` to their rates and ``row.note`` to what fell short."""
    results: dict[str, Any] = {}
    for side, call, prefix in sides:
        before = stack.cpu()
        t0 = time.perf_counter()
        load = await run_n(n, concurrency, call)
        accepted = time.perf_counter() - t0
        got = await wait_for_count(
            partial(count, prefix),
            load.ok,
            stall=stall,
            limit=max(limit - accepted, 1.0),
            alive=stack.check_alive,
        )
        elapsed = got.at - t0
        if not got.reached and side == "tidings":
            await terminate_running(stack, f"{stack.env_id}:{prefix}-{run}-")
        results[side] = {
            "reached": got.reached,
            "delivered": got.count,
            "accepted": load.ok,
            "accept_seconds": round(accepted, 2),
            "seconds": round(elapsed, 2),
            "rate": got.count / elapsed if elapsed > 0 else 0.0,
            "cpu_ms_per_op": cpu_per_op(stack, before, got.count),
            "error": load.first_error,
        }
    b, t = results["baseline"], results["tidings"]
    row.baseline = b["rate"] if b["reached"] else None
    row.value = t["rate"] if t["reached"] else None
    problems = [
        f"{side}: {r['delivered']}/{r['accepted']} {verb} in {r['seconds']:.0f}s ({r['rate']:.1f}/s), "
        f"then no progress for {stall:.0f}s or over {limit:.0f}s in all {r['error']}".strip()
        for side, r in results.items()
        if not r["reached"] or r["accepted"] < n
    ]
    row.note = "; ".join(problems) + (worker_hint(stack) if problems else "")
    return results


async def e2e_rate(stack: Stack, scale: Scale, row: Row, cpu_row: Row | None = None) -> None:
    n, c = scale.e2e_triggers, scale.concurrency
    run = secrets.token_hex(3)
    http = stack.clients(stack.live_url, c)
    try:
        await _deliver_one(stack, http, f"e2e-warm-{run}")
        await stack.client.execute_workflow(
            INSERT_ONE,
            InsertInput(
                environment_id=stack.env_id,
                subscriber_id=stack.subscriber_pk,
                transaction_id=f"e2eb-warm-{run}",
            ),
            id=f"e2eb-warm-{run}",
            task_queue=stack.baseline_queue,
        )

        baseline = bare_starts(stack, INSERT_ONE, f"e2eb-{run}")

        async def tidings(i: int) -> bool:
            resp = await http.post("/v1/events/trigger", json=trigger_body(f"e2et-{run}-{i}"))
            return resp.status_code == 201

        results = await race_sides(
            stack,
            row,
            [("baseline", baseline, "e2eb"), ("tidings", tidings, "e2et")],
            lambda prefix: stack.count_messages(like=f"{prefix}-{run}-%"),
            n=n,
            concurrency=c,
            run=run,
            stall=scale.stall,
            limit=scale.e2e_limit,
            verb="delivered",
        )
        row.extra = {
            "triggers": n,
            **{f"{k}_detail": {kk: vv for kk, vv in v.items() if kk != "rate"} for k, v in results.items()},
        }
        if cpu_row is not None:
            cpu_per_delivered(cpu_row, results)
    finally:
        await http.aclose()


async def seed_topic(stack: Stack, n: int) -> tuple[str, list[str], str]:
    """A topic with ``n`` subscribers: the topic through ``POST /v1/topics`` (SQL if the route is missing),
    subscribers and memberships by bulk SQL through the data layer's insert (1,000 rows a statement)."""
    from sqlmodel import col, select

    from store.models import Subscriber, Topic, TopicSubscriber
    from store.topics import get_topic  # noqa: F401  (fails early if the topic store is missing)

    key = f"bench-topic-{secrets.token_hex(3)}"
    how = "topic via POST /v1/topics"
    async with stack.http(stack.live_url, 1) as http:
        resp = await http.post("/v1/topics", json={"key": key, "name": "Bench topic"})
    db = stack.db
    async with db.session() as session:
        topic = (
            await session.exec(select(Topic).where(Topic.environment_id == stack.env_id, Topic.key == key))
        ).first()
        if topic is None:
            how = f"topic by SQL (POST /v1/topics answered {resp.status_code})"
            topic = Topic(environment_id=stack.env_id, key=key, name="Bench topic")
            session.add(topic)
            await session.flush()
        topic_id = topic.id
    externals = [f"fan-{key}-{i}" for i in range(n)]
    ids: list[str] = []
    for start in range(0, n, BATCH):
        chunk = externals[start : start + BATCH]
        async with db.session() as session:
            rows = [Subscriber(environment_id=stack.env_id, subscriber_id=e).model_dump() for e in chunk]
            await db.insert_ignore(session, Subscriber, rows, conflict=["environment_id", "subscriber_id"])
            found = (
                await session.exec(
                    select(Subscriber.id, Subscriber.subscriber_id).where(
                        Subscriber.environment_id == stack.env_id, col(Subscriber.subscriber_id).in_(chunk)
                    )
                )
            ).all()
            members = [
                TopicSubscriber(
                    environment_id=stack.env_id,
                    topic_id=topic_id,
                    topic_key=key,
                    subscriber_id=sid,
                    external_subscriber_id=ext,
                ).model_dump()
                for sid, ext in found
            ]
            await db.insert_ignore(session, TopicSubscriber, members, conflict=["topic_id", "subscriber_id"])
            ids += [sid for sid, _ in found]
    return key, ids, how + "; subscribers and memberships by bulk SQL"


async def fanout(stack: Stack, scale: Scale, row: Row, rss: Row) -> None:
    from bench.floor import store_floor
    from store.models import Message

    n = scale.fanout_subscribers
    key, ids, how = await seed_topic(stack, n)
    # Baseline: the database's floor — the same message rows COPY'd (PostgreSQL) or executemany'd in
    # one transaction (SQLite) into the same table (bench/floor.py).
    tx_base = f"fanb-{key}"
    rows = [
        message_row(InsertInput(environment_id=stack.env_id, subscriber_id=sid, transaction_id=tx_base))
        for sid in ids
    ]
    row.baseline = await store_floor(stack.db, Message, rows)
    if await stack.count_messages(transaction_id=tx_base) != len(ids):
        raise RuntimeError("the floor did not store every message row")

    worker = stack.procs["worker"].ps
    idle_mb = worker.memory_info().rss / 2**20
    peak = [idle_mb]
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], worker.memory_info().rss / 2**20)
            except Exception:  # noqa: BLE001 - the worker died: the wait below reports it
                return
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    tx = f"fant-{key}"
    before = stack.cpu()
    try:
        async with stack.http(stack.live_url, 1) as http:
            t0 = time.perf_counter()
            body = {
                "name": INAPP_WORKFLOW,
                "to": [{"type": "Topic", "topicKey": key}],
                "payload": {"name": "Ada"},
                "transactionId": tx,
            }
            resp = await http.post("/v1/events/trigger", json=body)
        if resp.status_code != 201:
            row.fail(f"topic trigger answered HTTP {resp.status_code}: {resp.text[:200]}")
        else:
            got = await wait_for_count(
                lambda: stack.count_messages(transaction_id=tx),
                len(ids),
                stall=scale.stall,
                limit=max(min(scale.fanout_limit, time_left() - 150), 30.0),
                interval=0.5,
                alive=stack.check_alive,
            )
            if got.reached:
                row.value = got.at - t0
                row.note = how
            else:
                await terminate_running(stack, f"{stack.env_id}:{tx}")
                rate = got.count / max(got.at - t0, 1e-9)
                row.fail(
                    f"{got.count}/{len(ids)} messages stored, then no progress for {scale.stall:.0f}s "
                    f"(or over {scale.fanout_limit:.0f}s in all); {rate:.0f} messages/s until then; {how}"
                    + worker_hint(stack)
                )
            row.extra = {"subscribers": len(ids), "cpu_ms_per_message": cpu_per_op(stack, before, got.count)}
    finally:
        stop.set()
        await sampler
    rss.value = peak[0]
    rss.note = f"worker idle RSS {idle_mb:.0f} MB; peak sampled every 0.1 s during the fan-out"
    if row.value is None:
        rss.note += " (the fan-out did not complete: see topic_fanout_100k)"
    rss.extra = {"idle_mb": round(idle_mb, 1), "subscribers": len(ids)}
