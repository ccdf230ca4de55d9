"""Timed digests close at the next matching slot on each subscriber's own clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from activities.schedule import next_timed, zone
from tests.support import Env, Stack, eventually
from tests.timing_support import define, digest, in_app, in_app_contents, time_skipping_stack
from workflows.steps.timing import TimingError

NOW = datetime(2026, 3, 10, 7, 30, tzinfo=UTC)  # a Tuesday


def test_at_time_in_the_subscriber_timezone() -> None:
    assert next_timed(NOW, {"atTime": "09:00"}, zone("Asia/Tokyo")) == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    assert next_timed(NOW, {"atTime": "09:00"}, zone("America/New_York")) == datetime(
        2026, 3, 10, 13, 0, tzinfo=UTC
    )
    assert next_timed(NOW, {"atTime": "09:00"}, zone(None)) == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_week_days_month_days_and_ordinals() -> None:
    utc = zone("UTC")
    assert next_timed(NOW, {"atTime": "10:00", "weekDays": ["monday"]}, utc) == datetime(
        2026, 3, 16, 10, tzinfo=UTC
    )
    assert next_timed(NOW, {"atTime": "10:00", "monthDays": [1, 15]}, utc) == datetime(
        2026, 3, 15, 10, tzinfo=UTC
    )
    last_friday = {"atTime": "10:00", "ordinal": "last", "ordinalValue": "friday", "monthlyType": "on"}
    assert next_timed(NOW, last_friday, utc) == datetime(2026, 3, 27, 10, tzinfo=UTC)
    first_weekday = {"atTime": "08:00", "ordinal": "1", "ordinalValue": "weekday", "monthlyType": "on"}
    assert next_timed(NOW, first_weekday, utc) == datetime(2026, 4, 1, 8, tzinfo=UTC)


def test_cron_expression_in_the_subscriber_timezone() -> None:
    assert next_timed(NOW, {"cronExpression": "0 9 * * *"}, zone("Europe/Paris")) == datetime(
        2026, 3, 10, 8, tzinfo=UTC
    )
    with pytest.raises(TimingError):
        next_timed(NOW, {"cronExpression": "not a cron"}, zone(None))
    with pytest.raises(TimingError):
        next_timed(NOW, {"atTime": "25:99"}, zone(None))


async def window_end(env: Env, subscriber_id: str) -> datetime:
    rows = await env.sql(
        "select d.raw from execution_details d join subscribers s on s.id = d.subscriber_id "
        "where d.environment_id = :e and s.subscriber_id = :s and d.detail = 'Step digested'",
        e=env.id,
        s=subscriber_id,
    )
    raw = rows[0][0]
    return datetime.fromisoformat((json.loads(raw) if isinstance(raw, str) else raw)["windowEnd"])


async def test_timed_digest_fires_at_nine_in_each_timezone(stack: Stack) -> None:
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        timed = digest(type="timed", amount=1, unit="days", timed={"atTime": "09:00"})
        await define(env, "digest-nine", [timed, in_app("after", "{{ step.total_count }}")])
        started = await server.get_current_time()
        for sid, tz in (("tokyo", "Asia/Tokyo"), ("newyork", "America/New_York")):
            for i in range(2):
                resp = await env.trigger(
                    "digest-nine", {"subscriberId": sid, "timezone": tz}, {"i": i}, transactionId=f"{sid}-{i}"
                )
                assert resp.status_code == 201
                await env.settle(f"{sid}-{i}")
        ends = {sid: await window_end(env, sid) for sid in ("tokyo", "newyork")}
        for sid, tz in (("tokyo", "Asia/Tokyo"), ("newyork", "America/New_York")):
            local = ends[sid].astimezone(zone(tz))
            assert (local.hour, local.minute) == (9, 0)
            assert timedelta(0) < ends[sid] - started <= timedelta(days=1, minutes=5)
        first, second = sorted(ends, key=lambda s: ends[s])
        await server.sleep(ends[first] - await server.get_current_time() + timedelta(minutes=1))

        async def sent(sid: str) -> list[str] | None:
            return await in_app_contents(env, sid) or None

        assert await eventually(lambda: sent(first), timeout=60) == ["2"]
        assert await in_app_contents(env, second) == []
        await server.sleep(ends[second] - await server.get_current_time() + timedelta(minutes=1))
        assert await eventually(lambda: sent(second), timeout=60) == ["2"]
