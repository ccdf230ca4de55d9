"""``python -m bench.sandbox_overhead``: what rendering in the sandbox processes costs per render.

Renders one in-app step (Novu-style template, filters, a variant) for a cohort of subscribers twice: in
this process (what the worker did before issue 13) and through :class:`activities.sandbox.SandboxPool`
(one call per cohort). Prints milliseconds per render for both (in-process as CPU time, so a loaded machine does not inflate
it), the difference, and the CPU the worker process itself still spends per render with the pool; warm runs only (the
children's start and the template compile are paid once per process).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import psutil

from activities.sandbox import Budget, SandboxPool
from activities.sandbox_jobs import handle_step, prepare_step
from workflows.models import StepSpec

TEMPLATE = (
    "Hi {{ subscriber.firstName }}, {{ actor.firstName | default('someone') }} commented on "
    "<b>{{ post.title }}</b>: {% for c in post.comments %}{{ c.text | truncate(40) }}; {% endfor %}"
)


def job(size: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    spec = StepSpec(
        step_id="s",
        type="in_app",
        content=TEMPLATE,
        subject="New comment on {{ post.title }}",
        filters=[
            {"children": [{"on": "payload", "field": "post.kind", "operator": "LIKE", "value": "%blog%"}]}
        ],
    )
    shared = {
        "step": spec.model_dump(mode="json"),
        "payload": {"post": {"title": "Hello", "kind": "blogpost", "comments": [{"text": "x" * 60}] * 5}},
        "tenant": None,
        "actor": {"firstName": "Ada"},
        "now": "2026-01-01T00:00:00+00:00",
        "digest": None,
        "results": {},
    }
    items = [
        {"subscriber": {"subscriberId": f"s{i}", "firstName": f"Name{i}"}, "facts": {}, "blocked": False}
        for i in range(size)
    ]
    return shared, items


async def main(size: int = 200, rounds: int = 20) -> None:
    shared, items = job(size)
    inproc: list[float] = []
    for _ in range(rounds):
        start = time.process_time()
        state = prepare_step(shared)
        for item in items:
            handle_step(state, item)
        inproc.append((time.process_time() - start) / size)
    pool = SandboxPool(Budget())
    await pool.run("step", shared, items[:1], tenant="warm")
    pooled: list[float] = []
    single: list[float] = []
    cpu: list[float] = []
    child_cpu: list[float] = []
    me = psutil.Process()

    def children_cpu() -> float:
        return sum(sum(c.cpu_times()[:2]) for c in me.children())

    for _ in range(rounds):
        start_child = children_cpu()
        start, start_cpu = time.perf_counter(), time.process_time()
        await pool.run("step", shared, items, tenant="t")
        pooled.append((time.perf_counter() - start) / size)
        cpu.append((time.process_time() - start_cpu) / size)
        child_cpu.append((children_cpu() - start_child) / size)
        start = time.perf_counter()
        await pool.run("step", shared, items[:1], tenant="t")
        single.append(time.perf_counter() - start)
    await pool.close()
    a, b = statistics.median(inproc) * 1000, statistics.median(pooled) * 1000
    print(f"cohort of {size}, median of {rounds} rounds")
    print(f"in process:     {a:.3f} ms per render")
    print(f"sandbox pool:   {b:.3f} ms per render  (+{b - a:.3f} ms, x{b / a:.2f})")
    print(f"one-item call:  {statistics.median(single) * 1000:.2f} ms round trip")
    w, c = statistics.median(cpu) * 1000, statistics.median(child_cpu) * 1000
    print(f"worker CPU:     {w:.3f} ms per render with the pool (was {a:.3f} in process)")
    print(f"child CPU:      {c:.3f} ms per render; worker + child {w + c:.3f} ms (+{w + c - a:.3f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
