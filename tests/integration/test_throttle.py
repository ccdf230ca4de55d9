"""Throttle steps: at most N executions per window per subscriber (and throttle key)."""

from __future__ import annotations

import asyncio

from tests.support import Env
from tests.timing_support import define, in_app, in_app_contents, step

THROTTLED = "Step throttled: execution limit reached for the window"


async def run_all(env: Env, name: str, sid: str, payloads: list[dict], prefix: str, concurrent: bool) -> None:
    async def one(i: int, payload: dict) -> None:
        resp = await env.trigger(name, sid, payload, transactionId=f"{prefix}-{i}")
        assert resp.status_code == 201, resp.text
        await env.settle(f"{prefix}-{i}")

    if concurrent:
        await asyncio.gather(*(one(i, p) for i, p in enumerate(payloads)))
    else:
        for i, p in enumerate(payloads):
            await one(i, p)


async def throttled_count(env: Env) -> int:
    rows = await env.sql(
        "select count(*) from execution_details where environment_id = :e and detail = :d",
        e=env.id,
        d=THROTTLED,
    )
    return int(rows[0][0])


async def test_over_the_limit_stops_at_the_step(env: Env) -> None:
    await define(
        env,
        "throttled",
        [step("limit", "throttle", threshold=2, amount=1, unit="minutes"), in_app("after", "{{ n }}")],
    )
    await run_all(env, "throttled", "thr", [{"n": i} for i in range(5)], "th", concurrent=False)
    assert await in_app_contents(env, "thr") == ["0", "1"]
    assert await throttled_count(env) == 3


async def test_concurrent_executions_respect_the_limit(env: Env) -> None:
    await define(
        env,
        "throttled-c",
        [step("limit", "throttle", threshold=3, amount=1, unit="hours"), in_app("after", "x")],
    )
    await run_all(env, "throttled-c", "thc", [{}] * 8, "tc", concurrent=True)
    assert len(await in_app_contents(env, "thc")) == 3
    assert await throttled_count(env) == 5


async def test_throttle_key_and_payload_window(env: Env) -> None:
    await define(
        env,
        "throttled-k",
        [
            step("limit", "throttle", threshold=1, windowPath="window", throttleKey="topic"),
            in_app("after", "{{ topic }}"),
        ],
    )
    payloads = [{"topic": t, "window": 600} for t in ("a", "a", "b", "b", "a")]
    await run_all(env, "throttled-k", "thk", payloads, "tk", concurrent=False)
    assert await in_app_contents(env, "thk") == ["a", "b"]


async def test_a_window_of_zero_lets_everything_through(env: Env) -> None:
    """Only executions inside the window count: with an empty window none is throttled."""
    await define(
        env,
        "throttled-0",
        [step("limit", "throttle", threshold=1, amount=0, unit="seconds"), in_app("after", "y")],
    )
    await run_all(env, "throttled-0", "th0", [{}] * 3, "t0", concurrent=False)
    assert len(await in_app_contents(env, "th0")) == 3
