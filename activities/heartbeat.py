"""Heartbeats of a remote activity: proof that the worker is alive, not that the step made progress.

A channel step's attempt waits on queues it does not control — the database pool, the render sandbox, the
provider's connection pool, the provider itself (``TIDINGS_PROVIDER_TIMEOUT_SECONDS`` per phase). A
heartbeat sent only between provider tries let any of those waits outlast the step's heartbeat timeout:
Temporal then cancelled the attempt mid-send and retried it, and under a backlog of slow sends the retries
added the load that caused the next timeouts (the full-scale ``e2e_slow_provider_rate`` run collapsed this
way, bench/README.md). :func:`heartbeating` beats on a timer for as long as the attempt runs, so the
heartbeat timeout keeps its meaning — "the worker holding this attempt is gone" — and slow work is bounded
by the activity's start-to-close timeout and the provider timeouts instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

from temporalio import activity

# What the attempt is doing now (subscriber, provider, try): the pending activity's heartbeat details in
# the Temporal UI. A list shared with the timer task, which copies the context when it starts.
_doing: ContextVar[list[Any] | None] = ContextVar("tidings_heartbeat_details", default=None)


def _heartbeats() -> bool:
    return activity.in_activity() and not activity.info().is_local


def beat(*details: Any) -> None:
    """Heartbeat now with ``details``; the timer of :func:`heartbeating` repeats them until the next."""
    if not _heartbeats():
        return
    doing = _doing.get()
    if doing is not None:
        doing[:] = details
    activity.heartbeat(*details)


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeat every third of the activity's heartbeat timeout while the body runs. Outside a remote
    activity, or without a heartbeat timeout, it does nothing."""
    timeout = activity.info().heartbeat_timeout if _heartbeats() else None
    if timeout is None:
        yield
        return
    period = max(timeout.total_seconds() / 3, 0.5)
    doing: list[Any] = []
    token = _doing.set(doing)

    async def timer() -> None:
        # The attempt's start already proves the worker alive: the first beat is due after a period, not
        # at once (one heartbeat RPC less per attempt, and a send shorter than a period sends none).
        while True:
            await asyncio.sleep(period)
            activity.heartbeat(*doing)

    task = asyncio.create_task(timer())
    try:
        yield
    finally:
        _doing.reset(token)
        # Not awaited: an await here could swallow a cancellation of the activity itself. The timer stops
        # at its next sleep, before it could beat again.
        task.cancel()
