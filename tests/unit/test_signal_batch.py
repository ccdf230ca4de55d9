"""api/signal_batch.py: which triggers share a call, and what each is answered when the call fails."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from api import signal_batch
from api.signal_batch import SignalBatcher
from workflows.models import DigestSignal

END = datetime(2026, 12, 1, tzinfo=UTC)


async def turns() -> None:
    """Let every ready task run until it waits (a submit, then the call it starts)."""
    for _ in range(5):
        await asyncio.sleep(0)


def event(tx: str) -> DigestSignal:
    return DigestSignal(transaction_id=tx, window_end=END)


class Calls:
    """A ``send`` that records each call's transactionIds. The first call stays in flight until
    ``release`` is set (so later events queue behind it); call number ``fail`` raises."""

    def __init__(self, fail: int | None = None) -> None:
        self.made: list[list[str]] = []
        self.release = asyncio.Event()
        self.fail = fail

    async def send(self, signals: list[DigestSignal]) -> None:
        self.made.append([s.transaction_id for s in signals])
        if len(self.made) == 1:
            await self.release.wait()
        elif len(self.made) == self.fail:
            raise RuntimeError("Temporal did not answer")


async def test_a_lone_event_is_sent_at_once_and_later_ones_share_the_next_call() -> None:
    calls = Calls()
    send = calls.send
    batcher = SignalBatcher()
    first = asyncio.create_task(batcher.submit("acc", event("t0"), send))
    await turns()
    assert calls.made == [["t0"]]
    later = [asyncio.create_task(batcher.submit("acc", event(f"t{i}"), send)) for i in range(1, 4)]
    other = asyncio.create_task(batcher.submit("other", event("o1"), send))  # another accumulator: own call
    await turns()
    assert calls.made == [["t0"], ["o1"]] and not first.done()
    calls.release.set()
    await asyncio.gather(first, *later, other)
    assert calls.made == [["t0"], ["o1"], ["t1", "t2", "t3"]]


async def test_a_failed_call_fails_every_trigger_it_carried_and_the_next_call_still_goes() -> None:
    calls = Calls(fail=2)
    send = calls.send
    batcher = SignalBatcher()
    first = asyncio.create_task(batcher.submit("acc", event("t0"), send))
    await turns()
    failing = [asyncio.create_task(batcher.submit("acc", event(f"t{i}"), send)) for i in (1, 2)]
    await turns()
    calls.release.set()
    await first
    for task in failing:
        with pytest.raises(RuntimeError, match="did not answer"):
            await task
    await batcher.submit("acc", event("t3"), send)  # the queue recovered: a fresh call
    assert calls.made == [["t0"], ["t1", "t2"], ["t3"]]


async def test_one_call_carries_at_most_max_events_and_about_max_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(signal_batch, "MAX_EVENTS", 3)
    calls = Calls()
    send = calls.send
    batcher = SignalBatcher()
    tasks = [asyncio.create_task(batcher.submit("acc", event("t0"), send))]
    await turns()
    tasks += [asyncio.create_task(batcher.submit("acc", event(f"t{i}"), send)) for i in range(1, 8)]
    await turns()
    calls.release.set()
    await asyncio.gather(*tasks)
    assert [len(made) for made in calls.made] == [1, 3, 3, 1]
    size = len(event("t1").model_dump_json())
    monkeypatch.setattr(signal_batch, "MAX_BYTES", size * 2)
    waiting = [
        signal_batch._Waiting(event(f"t{i}"), size, asyncio.get_running_loop().create_future())
        for i in range(3)
    ]
    assert len(signal_batch.take(waiting)) == 2
    waiting[0].size = size * 5  # one event over the limit still goes, alone
    assert len(signal_batch.take(waiting)) == 1
