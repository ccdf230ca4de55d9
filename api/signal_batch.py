"""Concurrent front-door digest events for one accumulator share one signal-with-start ("group commit").

A burst into one subscriber's digest (two thousand likes on one post) used to be one signal per trigger to
one workflow. Temporal handles each signal to a workflow one at a time, every signal is a history event,
and an accumulator receiving a few hundred a second spent its runs replaying them and could not continue
as new while they kept coming (bench/README.md, full scale). Here the first event for an accumulator is
sent at once; events for it that arrive while that call is in flight wait for it and then go together in
the next call, one ``add-many`` signal carrying up to :data:`MAX_EVENTS` events or :data:`MAX_BYTES`. A lone
trigger waits for nothing; under a burst the signals per second to one accumulator are bounded by its call
round trip, whatever the trigger rate.

Each trigger is still answered only after the call carrying its event returned, so ``201`` means Temporal
holds the event; a failed call fails every trigger it carried (each got the same 503 and may re-send its
transactionId, which the accumulator counts once). No trigger makes more than one Temporal call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from workflows.models import DigestSignal, leading_batch

#: One ``add-many`` signal carries at most this many events and about this many bytes of them (Temporal
#: refuses payloads over 2 MB; one trigger may be 512 KB, and always goes, even alone).
MAX_EVENTS = 200
MAX_BYTES = 1_000_000

Send = Callable[[list[DigestSignal]], Awaitable[None]]


@dataclass
class _Waiting:
    signal: DigestSignal
    size: int
    done: asyncio.Future[None]


@dataclass
class _Queue:
    send: Send
    waiting: list[_Waiting] = field(default_factory=list)
    task: asyncio.Task[None] | None = None  # the call loop (held here: the event loop keeps tasks weakly)


class SignalBatcher:
    """Per API process: one queue, and at most one call in flight, per accumulator ID."""

    def __init__(self) -> None:
        self._queues: dict[str, _Queue] = {}

    async def submit(self, key: str, signal: DigestSignal, send: Send) -> None:
        """Deliver ``signal`` to accumulator ``key`` with the next call for it; ``send`` makes that call
        (the first waiting event's ``send`` serves its whole batch: every event of one key is alike)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieved)  # a trigger cancelled while waiting leaves no unread failure
        item = _Waiting(signal, len(signal.model_dump_json()), done)
        queue = self._queues.get(key)
        if queue is not None:  # a call for this accumulator is in flight: ride the next one
            queue.waiting.append(item)
        else:
            self._queues[key] = queue = _Queue(send, [item])
            queue.task = asyncio.get_running_loop().create_task(self._drain(key, queue))
        await done

    async def _drain(self, key: str, queue: _Queue) -> None:
        try:
            while queue.waiting:
                batch = take(queue.waiting)
                del queue.waiting[: len(batch)]
                try:
                    await queue.send([w.signal for w in batch])
                except Exception as exc:  # noqa: BLE001 - every trigger of the batch gets the call's failure
                    for w in batch:
                        if not w.done.done():
                            w.done.set_exception(exc)
                except BaseException:  # cancelled (shutdown): so are the triggers the call carried
                    for w in batch:
                        w.done.cancel()
                    raise
                else:
                    for w in batch:
                        if not w.done.done():
                            w.done.set_result(None)
        finally:
            del self._queues[key]
            for w in queue.waiting:  # only when cancelled (shutdown): nothing was sent for them
                w.done.cancel()


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def take(waiting: list[_Waiting]) -> list[_Waiting]:
    """The oldest waiting events one call carries: up to MAX_EVENTS and about MAX_BYTES, at least one."""
    return waiting[: leading_batch((w.size for w in waiting), max_events=MAX_EVENTS, max_bytes=MAX_BYTES)]
