"""Driving load: N calls (or calls for T seconds) at a fixed concurrency, and waiting for a count."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    ok: int = 0
    failed: int = 0
    elapsed: float = 0.0
    first_error: str = ""
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0


Call = Callable[[int], Awaitable[bool]]


async def run_for(seconds: float, concurrency: int, call: Call, *, start_index: int = 0) -> LoadResult:
    """Call ``call(i)`` from ``concurrency`` tasks until ``seconds`` pass; calls in flight at the end count,
    and so does the time they took. ``call`` returns whether the call was accepted."""
    result = LoadResult()
    counter = iter(range(start_index, 1 << 62))
    begin = time.perf_counter()
    deadline = begin + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            await _one(call, next(counter), result)

    await asyncio.gather(*(client() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - begin
    return result


async def run_n(n: int, concurrency: int, call: Call, *, record_latency: bool = False) -> LoadResult:
    """Make exactly ``n`` calls (indexes 0..n-1) from ``concurrency`` tasks."""
    result = LoadResult()
    counter = iter(range(n))
    begin = time.perf_counter()

    async def client() -> None:
        for i in counter:
            await _one(call, i, result, record_latency=record_latency)

    await asyncio.gather(*(client() for _ in range(min(concurrency, n))))
    result.elapsed = time.perf_counter() - begin
    return result


async def _one(call: Call, i: int, result: LoadResult, *, record_latency: bool = False) -> None:
    t0 = time.perf_counter()
    try:
        ok = await call(i)
    except Exception as exc:  # noqa: BLE001 - a failed call is counted, the load goes on
        ok = False
        result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"[:300]
    if ok:
        result.ok += 1
        if record_latency:
            result.latencies_ms.append((time.perf_counter() - t0) * 1000)
    else:
        result.failed += 1


@dataclass
class Progress:
    reached: bool
    count: int
    at: float  # perf_counter() when the target was reached (or of the last change)


async def wait_for_count(
    count: Callable[[], Awaitable[int]],
    target: int,
    *,
    stall: float,
    limit: float,
    interval: float = 0.2,
    alive: Callable[[], None] | None = None,
) -> Progress:
    """Poll ``count()`` until it reaches ``target``; give up after ``stall`` seconds without progress or
    ``limit`` seconds in all."""
    begin = last_change = time.perf_counter()
    last = -1
    while True:
        now_count = await count()
        now = time.perf_counter()
        if now_count >= target:
            return Progress(True, now_count, now)
        if now_count != last:
            last, last_change = now_count, now
        if now - last_change > stall or now - begin > limit:
            return Progress(False, now_count, last_change)
        if alive is not None:
            alive()
        await asyncio.sleep(interval)
