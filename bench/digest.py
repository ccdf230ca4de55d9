"""Digest absorption: N events for one subscriber into one open digest, delivered in one send.

absorbed: the digest holds the event — the accumulator has recorded it in the app database
(``digest_events`` row of the transaction, whatever way it came: the API's front door or a trigger's
execution joining the digest). Counted through the database, so the measure is the same before and after
the front door (docs/digest.md); before it, each event also needed its own execution. If not all are
absorbed before the window closes, the rate is taken until all N triggers were accepted, and the note
says so. Baseline: signals/s to one running workflow from the same client at the same concurrency,
until the workflow has counted them all.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time

from bench.baseline import SIGNAL_SINK, SinkInput
from bench.load import run_n
from bench.results import Row
from bench.scale import Scale, time_left
from bench.stack import SUBSCRIBER, Stack, add_digest_workflow, worker_hint, worker_problem
from bench.trigger import cpu_per_op


async def _count(stack: Stack, prefix: str, status: str) -> int:
    query = f'WorkflowId STARTS_WITH "{stack.env_id}:{prefix}" AND ExecutionStatus = "{status}"'
    return (await stack.client.count_workflows(query)).count


async def _absorbed(stack: Stack, prefix: str) -> int:
    """Events of this run the digest holds (recorded by the accumulator or a joining execution)."""
    statement = "SELECT count(*) FROM digest_events WHERE environment_id = :e AND transaction_id LIKE :p"
    rows = await stack.sql(statement, e=stack.env_id, p=f"{prefix}%")
    return int(rows[0][0])


async def _failure(stack: Stack, prefix: str) -> str:
    """Why one failed trigger execution failed (the first one listed)."""
    query = f'WorkflowId STARTS_WITH "{stack.env_id}:{prefix}" AND ExecutionStatus = "Failed"'
    async for execution in stack.client.list_workflows(query, limit=1):
        try:
            await stack.client.get_workflow_handle(execution.id).result()
        except Exception as exc:  # noqa: BLE001 - the failure is what we want to show
            cause = getattr(exc, "cause", None) or exc
            return f"{type(cause).__name__}: {cause}"[:300]
    return "unknown"


async def signal_baseline(stack: Stack, n: int, concurrency: int) -> float:
    wid = f"bench-sink-{secrets.token_hex(3)}"
    handle = await stack.client.start_workflow(
        SIGNAL_SINK, SinkInput(expected=n), id=wid, task_queue=stack.baseline_queue
    )
    t0 = time.perf_counter()
    load = await run_n(n, concurrency, lambda i: _signal(handle, i))
    if load.ok < n:
        raise RuntimeError(f"{load.failed} signals failed: {load.first_error}")
    await asyncio.wait_for(handle.result(), timeout=300)
    return n / (time.perf_counter() - t0)


async def _signal(handle: object, i: int) -> bool:
    await handle.signal("add", i)  # type: ignore[attr-defined]
    return True


async def digest_rate(stack: Stack, scale: Scale, row: Row, front_rate: float | None) -> None:
    n, c = scale.digest_events, scale.concurrency
    row.baseline = await signal_baseline(stack, n, c)
    if problem := worker_problem(stack):
        row.fail(problem)
        return
    # The window must outlast absorption. A digest-first trigger is absorbed at the front door (one
    # signal-with-start, docs/digest.md), so size it from this run's front-door rate, with room to spare.
    window = 60.0 if not front_rate else n / front_rate * 2 + 20
    window = min(max(window, 30.0), scale.digest_window_max)
    # ... and the whole run must fit its time budget: triggering, the window, then the send.
    fits = time_left() - n / 40 - 45
    if fits < 20:
        row.fail(f"skipped: {time_left():.0f}s of the run's time budget left, too little for a digest window")
        return
    window = min(window, fits)
    identifier = await add_digest_workflow(stack, window)
    prefix = f"dg-{secrets.token_hex(3)}-"
    http = stack.clients(stack.live_url, c)
    before = stack.cpu()
    try:

        async def trigger(i: int) -> bool:
            body = {
                "name": identifier,
                "to": SUBSCRIBER,
                "payload": {"i": i},
                "transactionId": f"{prefix}{i}",
            }
            resp = await http.post("/v1/events/trigger", json=body)
            return resp.status_code == 201

        t0 = time.perf_counter()
        load = await run_n(n, c, trigger)
        accepted_at = time.perf_counter()
    finally:
        await http.aclose()
    if load.ok < n:
        row.fail(f"{load.ok}/{n} digest triggers accepted ({load.first_error})")
        return
    # Absorbed: the digest recorded every event; give up (and fall back) before the window closes.
    absorbed_at = None
    done = 0
    while time.perf_counter() - t0 < window - 2:
        done = await _absorbed(stack, prefix)
        if done >= n:
            absorbed_at = time.perf_counter()
            break
        if await _count(stack, prefix, "Failed"):
            row.fail(f"digest triggers fail: {await _failure(stack, prefix)}")
            return
        stack.check_alive()
        await asyncio.sleep(0.25)
    waited = time.perf_counter() - t0
    cpu = cpu_per_op(stack, before, n)
    deadline = min(t0 + window + max(60.0, window), time.perf_counter() + time_left() - 5)
    sends = await _wait_digest_message(stack, identifier, deadline=deadline)
    expected = f"{n} events"
    if absorbed_at is not None:
        row.value = n / (absorbed_at - t0)
        how = "until the digest had recorded every event"
    elif done:
        row.value = None
        how = f"absorption too slow for the window: {done}/{n} handed over in {waited:.0f}s ({done / waited:.1f}/s)"
    else:
        row.value = n / (accepted_at - t0)
        how = "until accepted (no trigger execution completed before the window closed)"
    contents = [content for (content,) in sends]
    if contents == [expected] and row.value is not None:
        row.note = f"{how}; one in-app message '{expected}' (window {window:.0f}s)"
    else:
        shown = contents[:3] + (["…"] if len(contents) > 3 else [])
        row.value = None
        row.note = (
            f"{how}; expected one in-app message '{expected}' after the {window:.0f}s window, got "
            f"{len(contents)}: {shown}; accepted at {n / (accepted_at - t0):.1f} triggers/s"
            + worker_hint(stack)
        )
    row.extra = {"events": n, "window_seconds": round(window), "cpu_ms_per_event": cpu}


def _text(value: object) -> str:
    """A JSON column read through plain SQL comes back encoded on some backends."""
    if isinstance(value, str) and value.startswith('"'):
        return str(json.loads(value))
    return str(value)


async def _wait_digest_message(stack: Stack, identifier: str, *, deadline: float) -> list[tuple[str]]:
    """The digest's in-app messages, once at least one has arrived (and a moment for any second one)."""
    statement = "SELECT content FROM messages WHERE environment_id = :e AND template_identifier = :w AND step_id = 's2'"
    while time.perf_counter() < deadline:
        rows = await stack.sql(statement, e=stack.env_id, w=identifier)
        if rows:
            await asyncio.sleep(3)
            return [(_text(r[0]),) for r in await stack.sql(statement, e=stack.env_id, w=identifier)]
        stack.check_alive()
        await asyncio.sleep(0.5)
    return []
