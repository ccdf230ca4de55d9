"""The front door: triggers accepted per second at 64 clients, and the p50 of one trigger at a time.

Both run against the "sink" API, whose task queue no worker polls, and their baseline starts a no-op
workflow on a queue no worker polls either: the ratio is the cost of the API on top of the one
``start_workflow`` it makes.
"""

from __future__ import annotations

import secrets
from typing import Any

from bench.baseline import NOOP
from bench.load import LoadResult, run_for, run_n
from bench.results import Row, median, percentile
from bench.scale import Scale
from bench.stack import INAPP_WORKFLOW, SUBSCRIBER, Stack

NOOP_QUEUE = "bench-noop-sink"


def trigger_body(transaction_id: str) -> dict[str, Any]:
    return {
        "name": INAPP_WORKFLOW,
        "to": SUBSCRIBER,
        "payload": {"name": "Ada"},
        "transactionId": transaction_id,
    }


class Callers:
    """The two calls being compared: one trigger over HTTP, one bare ``start_workflow``."""

    def __init__(self, stack: Stack, concurrency: int) -> None:
        self.stack = stack
        self.http = stack.clients(stack.sink_url, concurrency)
        self.run = secrets.token_hex(3)
        self.last_error = ""

    async def trigger(self, tag: str, i: int) -> bool:
        resp = await self.http.post("/v1/events/trigger", json=trigger_body(f"{tag}-{self.run}-{i}"))
        if resp.status_code != 201:
            self.last_error = f"HTTP {resp.status_code}: {resp.text[:200]}"
            return False
        return True

    async def start(self, tag: str, i: int) -> bool:
        await self.stack.client.start_workflow(NOOP, id=f"{tag}-{self.run}-{i}", task_queue=NOOP_QUEUE)
        return True

    async def close(self) -> None:
        await self.http.aclose()


def cpu_per_op(stack: Stack, before: dict[str, float], ops: int) -> dict[str, float]:
    """CPU milliseconds per operation in each process, over the measured window."""
    after = stack.cpu()
    return {k: round((after[k] - before.get(k, 0.0)) * 1000 / max(ops, 1), 2) for k in after}


async def accept_rate(stack: Stack, scale: Scale, row: Row) -> None:
    callers = Callers(stack, scale.concurrency)
    try:
        c = scale.concurrency
        await run_for(1.0, c, lambda i: callers.start("warm-b", i))
        warm = await run_for(1.0, c, lambda i: callers.trigger("warm-t", i))
        if warm.ok == 0:
            row.fail(f"no trigger accepted: {warm.first_error or callers.last_error}")
            return
        base: list[LoadResult] = []
        tid: list[LoadResult] = []
        cpu: dict[str, dict[str, float]] = {}
        for r in range(scale.accept_rounds):
            before = stack.cpu()
            base.append(await run_for(scale.accept_seconds, c, lambda i, r=r: callers.start(f"acc-b{r}", i)))
            cpu[f"baseline_round{r}"] = cpu_per_op(stack, before, base[-1].ok)
            before = stack.cpu()
            tid.append(await run_for(scale.accept_seconds, c, lambda i, r=r: callers.trigger(f"acc-t{r}", i)))
            cpu[f"tidings_round{r}"] = cpu_per_op(stack, before, tid[-1].ok)
        row.value = median([x.rate for x in tid])
        row.baseline = median([x.rate for x in base])
        failed = sum(x.failed for x in tid)
        why = callers.last_error or next((x.first_error for x in tid if x.first_error), "")
        row.note = f"{failed} triggers not accepted ({why})" if failed else ""
        row.extra = {
            "samples": [round(x.rate, 1) for x in tid],
            "baseline_samples": [round(x.rate, 1) for x in base],
            "concurrency": c,
            "cpu_ms_per_op": cpu,
        }
    finally:
        await callers.close()


async def latency(stack: Stack, scale: Scale, row: Row) -> None:
    callers = Callers(stack, 1)
    try:
        await run_n(10, 1, lambda i: callers.start("lat-warm-b", i))
        warm = await run_n(10, 1, lambda i: callers.trigger("lat-warm-t", i))
        if warm.ok == 0:
            row.fail(f"no trigger accepted: {warm.first_error or callers.last_error}")
            return
        base: list[float] = []
        tid: list[float] = []
        block = scale.latency_block
        for b in range(max(1, scale.latency_requests // block)):
            res = await run_n(block, 1, lambda i, b=b: callers.start(f"lat-b{b}", i), record_latency=True)
            base += res.latencies_ms
            res = await run_n(block, 1, lambda i, b=b: callers.trigger(f"lat-t{b}", i), record_latency=True)
            tid += res.latencies_ms
        row.value = percentile(tid, 0.5)
        row.baseline = percentile(base, 0.5)
        row.extra = {
            "p95": round(percentile(tid, 0.95), 2),
            "baseline_p95": round(percentile(base, 0.95), 2),
            "requests": len(tid),
        }
    finally:
        await callers.close()
