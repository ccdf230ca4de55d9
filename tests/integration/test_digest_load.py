"""A thousand triggers in one digest window: one send carrying all of them (time-skipping server, so the
hour-long window closes as soon as every event has joined, however slow the machine is)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.support import Stack, eventually
from tests.timing_support import define, digest, in_app, in_app_contents, time_skipping_stack

EVENTS = 1000


async def test_thousand_triggers_one_send(stack: Stack) -> None:
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        await define(
            env, "digest-1000", [digest(amount=1, unit="hours"), in_app("after", "{{ step.total_count }}")]
        )
        gate = asyncio.Semaphore(40)

        async def fire(i: int) -> None:
            async with gate:
                resp = await env.trigger("digest-1000", "many", {"i": i}, transactionId=f"k-{i}")
                assert resp.status_code == 201, resp.text

        await asyncio.gather(*(fire(i) for i in range(EVENTS)))

        async def joined() -> str | None:
            rows = await env.sql(
                "select accumulator_id, count(*) from digest_events where environment_id = :e group by 1",
                e=env.id,
            )
            return rows[0][0] if rows and rows[0][1] >= EVENTS else None

        await eventually(joined, timeout=300, interval=0.5)
        assert await in_app_contents(env, "many") == []
        await server.sleep(timedelta(hours=1, minutes=1))

        async def sent() -> list[str] | None:
            return await in_app_contents(env, "many") or None

        assert await eventually(sent, timeout=120) == [str(EVENTS)]
        rows = await env.sql(
            "select count(*) from digest_events where environment_id = :e and status = 'fired'", e=env.id
        )
        assert rows[0][0] == EVENTS
