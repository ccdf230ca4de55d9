"""Recurring schedules on Temporal Schedules: validation, calendars in a time zone, firing through the
trigger path, idempotent catch-up, pause, isolation, and schedules declared in code."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import ScheduleBackfill, ScheduleOverlapPolicy
from temporalio.service import RPCError

from tests.support import Env, Stack, eventually
from tidings import schedules as temporal_schedules
from workflows.scheduled import SCHEDULED_TRIGGER_WORKFLOW, FireScheduleResult

ADA = {"subscriberId": "ada", "email": "ada@example.com", "firstName": "Ada"}


def body(**extra: Any) -> dict[str, Any]:
    return {
        "workflowId": "welcome",
        "to": [ADA],
        "payload": {"name": "Ada"},
        "repeat": {"cron": "0 9 * * MON"},
        "timezone": "Europe/Paris",
        **extra,
    }


async def create(env: Env, **extra: Any) -> dict[str, Any]:
    resp = await env.http.post("/v1/schedules", json=body(**extra))
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("extra", "status", "needle"),
    [
        ({"timezone": "Mars/Olympus"}, 400, "timezone must be an IANA time zone"),
        ({"repeat": {"cron": "61 * * * *"}}, 400, "repeat.cron is not a valid"),
        ({"repeat": {"cron": "0 9 * * MON", "at": "09:00"}}, 400, "repeat.cron cannot be combined"),
        ({"repeat": {"frequency": "weekly", "days": ["XX"]}}, 400, "repeat.days"),
        ({"repeat": {"frequency": "daily", "at": "25:00"}}, 400, "repeat.at"),
        ({"repeat": {"frequency": "daily", "interval": 2}}, 400, "repeat.interval"),
        ({"repeat": {}}, 400, "either cron or frequency"),
        ({"startAt": "2030-01-02T00:00:00Z", "endAt": "2030-01-01T00:00:00Z"}, 400, "endAt must be after"),
        ({"to": []}, 400, "to should not be empty"),
        ({"workflowId": "no-such-workflow"}, 422, "workflow_not_found"),
    ],
)
async def test_bad_schedules_are_refused_and_leave_nothing(
    env: Env, stack: Stack, extra: dict[str, Any], status: int, needle: str
) -> None:
    resp = await env.http.post("/v1/schedules", json=body(**extra))
    assert resp.status_code == status, resp.text
    error = resp.json()
    assert error["statusCode"] == status and needle in str(error["message"]), error
    assert (await env.http.get("/v1/schedules")).json()["totalCount"] == 0
    assert await env.sql("SELECT id FROM recurring_schedules") == []


async def test_calendar_is_read_in_the_schedules_time_zone_across_dst(env: Env, stack: Stack) -> None:
    """09:00 in Paris is 08:00 UTC before the spring change (2027-03-28) and 07:00 UTC after it."""
    created = await create(
        env,
        repeat={"frequency": "daily", "at": "09:00"},
        startAt="2027-03-26T00:00:00Z",
        endAt="2027-04-30T00:00:00Z",
    )
    assert created["nextRuns"][:4] == [
        "2027-03-26T08:00:00+00:00",
        "2027-03-27T08:00:00+00:00",
        "2027-03-28T07:00:00+00:00",
        "2027-03-29T07:00:00+00:00",
    ]
    # Weekly on given days: Mondays and Thursdays at 18:30 New York time.
    weekly = await create(
        env,
        repeat={"frequency": "weekly", "days": ["MO", "TH"], "at": "18:30"},
        timezone="America/New_York",
        startAt="2027-01-01T00:00:00Z",
    )
    assert weekly["nextRuns"][:3] == [
        "2027-01-04T23:30:00+00:00",
        "2027-01-07T23:30:00+00:00",
        "2027-01-11T23:30:00+00:00",
    ]


async def test_schedule_is_a_temporal_schedule_and_the_api_shows_what_temporal_shows(
    env: Env, stack: Stack
) -> None:
    created = await create(env)
    handle = stack.client.get_schedule_handle(created["temporalScheduleId"])
    described = await handle.describe()
    assert described.id == f"{env.id}:{created['_id']}"
    assert described.schedule.spec.time_zone_name == "Europe/Paris"
    assert [t.isoformat() for t in described.info.next_action_times[:5]] == created["nextRuns"]
    first = datetime.fromisoformat(created["nextRuns"][0])
    assert first.astimezone(ZoneInfo("Europe/Paris")).strftime("%a %H:%M") == "Mon 09:00"

    listed = (await env.http.get("/v1/schedules")).json()
    assert listed["totalCount"] == 1 and listed["data"][0]["_id"] == created["_id"]

    paused = await env.http.post(f"/v1/schedules/{created['_id']}/pause", json={"note": "holidays"})
    assert paused.status_code == 200 and paused.json()["data"]["paused"] is True
    assert (await handle.describe()).schedule.state.paused is True
    assert (await handle.describe()).schedule.state.note == "holidays"
    resumed = await env.http.post(f"/v1/schedules/{created['_id']}/unpause")
    assert resumed.json()["data"]["paused"] is False

    changed = await env.http.patch(
        f"/v1/schedules/{created['_id']}", json={"repeat": {"frequency": "hourly", "at": "00:15"}}
    )
    assert changed.status_code == 200, changed.text
    assert all(t.endswith(":15:00+00:00") for t in changed.json()["data"]["nextRuns"])
    assert (await handle.describe()).schedule.state.paused is False

    deleted = await env.http.delete(f"/v1/schedules/{created['_id']}")
    assert deleted.status_code == 200
    with pytest.raises(RPCError):
        await handle.describe()
    assert (await env.http.get(f"/v1/schedules/{created['_id']}")).status_code == 404


async def test_another_environment_cannot_see_or_touch_a_schedule(env: Env, stack: Stack) -> None:
    created = await create(env)
    other = await stack.new_env()
    sid = created["_id"]
    assert (await other.http.get("/v1/schedules")).json()["totalCount"] == 0
    for method, path in [
        ("GET", f"/v1/schedules/{sid}"),
        ("PATCH", f"/v1/schedules/{sid}"),
        ("POST", f"/v1/schedules/{sid}/pause"),
        ("POST", f"/v1/schedules/{sid}/unpause"),
        ("POST", f"/v1/schedules/{sid}/trigger"),
        ("DELETE", f"/v1/schedules/{sid}"),
    ]:
        kwargs: dict[str, Any] = {"json": {"payload": {"name": "Mallory"}}} if method == "PATCH" else {}
        resp = await other.http.request(method, path, **kwargs)
        assert resp.status_code == 404, (method, path, resp.text)
    mine = (await env.http.get(f"/v1/schedules/{sid}")).json()["data"]
    assert mine["paused"] is False and mine["payload"] == {"name": "Ada"}


async def firings(stack: Stack, env: Env, schedule_id: str, at_least: int) -> list[FireScheduleResult]:
    """The results of every finished firing of one schedule, once at least ``at_least`` have finished and
    none is still running."""
    prefix = temporal_schedules.firing_workflow_id(env.id, schedule_id)
    query = f'WorkflowType = "{SCHEDULED_TRIGGER_WORKFLOW}" AND WorkflowId STARTS_WITH "{prefix}"'

    async def closed() -> list[tuple[str, str]] | None:
        ids, running = [], False
        async for execution in stack.client.list_workflows(query):
            ids.append((execution.id, execution.run_id))
            running = running or execution.close_time is None
        return ids if len(ids) >= at_least and not running else None

    ids = await eventually(closed, timeout=60)
    return [
        await stack.client.get_workflow_handle(wid, run_id=run, result_type=FireScheduleResult).result()
        for wid, run in ids
    ]


async def test_trigger_now_delivers_through_the_trigger_path(env: Env, stack: Stack) -> None:
    created = await create(env)
    resp = await env.http.post(f"/v1/schedules/{created['_id']}/trigger")
    assert resp.status_code == 201
    [fired] = await firings(stack, env, created["_id"], 1)
    assert fired.status == "processed"
    assert fired.transaction_id and fired.transaction_id.startswith(f"schedule-{created['_id']}-")
    await env.settle(fired.transaction_id)
    feed = await env.feed("ada")
    assert feed["totalCount"] == 1
    assert feed["data"][0]["content"] == "Welcome to Tidings, Ada!"
    assert feed["data"][0]["transactionId"] == fired.transaction_id
    shown = (await env.http.get(f"/v1/schedules/{created['_id']}")).json()["data"]
    assert [r["transactionId"] for r in shown["recentRuns"]] == [fired.transaction_id]


async def test_a_firing_started_twice_delivers_once(env: Env, stack: Stack) -> None:
    """Backfilling the same three minutes twice (what a catch-up after downtime amounts to) starts each
    firing twice; the transactionId fixed by the scheduled time lets only the first one deliver."""
    created = await create(env, repeat={"frequency": "minutely"}, timezone="UTC")
    handle = stack.client.get_schedule_handle(created["temporalScheduleId"])
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    window = ScheduleBackfill(
        start_at=end - timedelta(minutes=3), end_at=end, overlap=ScheduleOverlapPolicy.ALLOW_ALL
    )
    await handle.backfill(window)
    first = await firings(stack, env, created["_id"], 3)
    transactions = {f.transaction_id for f in first}
    assert len(transactions) == len(first) >= 3, transactions
    await handle.backfill(window)
    every = await firings(stack, env, created["_id"], 2 * len(first))
    assert len(every) == 2 * len(first)
    assert {f.transaction_id for f in every} == transactions
    await asyncio.gather(*(env.settle(tx) for tx in transactions if tx))
    feed = await env.feed("ada", limit=50)
    assert feed["totalCount"] == len(transactions)
    assert {item["transactionId"] for item in feed["data"]} == transactions
    assert {f.status for f in every} == {"processed"}


async def test_a_firing_of_a_deleted_workflow_ends_without_retrying(env: Env, stack: Stack) -> None:
    created = await create(env, workflowId="welcome")
    await env.sql(
        "UPDATE workflow_definitions SET deleted = true WHERE trigger_identifier = 'welcome' "
        "AND environment_id = :env RETURNING id",
        env=env.id,
    )
    await env.http.post(f"/v1/schedules/{created['_id']}/trigger")
    [fired] = await firings(stack, env, created["_id"], 1)
    assert fired.status == "error" and fired.detail == {"message": "workflow_not_found"}
    assert await env.sql("SELECT id FROM messages WHERE environment_id = :env", env=env.id) == []


async def test_schedules_declared_in_code_are_synced_and_removed(env: Env, stack: Stack) -> None:
    temporal_schedules.schedule(
        "monday-welcome",
        workflow="welcome",
        to=["ada"],
        payload={"name": "Ada"},
        frequency="weekly",
        days=["MO"],
        at="08:00",
        timezone="Europe/Paris",
    )
    try:
        await temporal_schedules.sync_code_schedules(stack.db, stack.client, stack.settings.task_queue)
        listed = (await env.http.get("/v1/schedules")).json()["data"]
        [code] = [s for s in listed if s["key"] == "monday-welcome"]
        assert code["origin"] == "code" and code["repeat"]["days"] == ["MO"]
        refused = await env.http.patch(f"/v1/schedules/{code['_id']}", json={"payload": {"name": "X"}})
        assert refused.status_code == 400
        # Syncing again changes nothing (idempotent), removing the declaration removes the schedule.
        await temporal_schedules.sync_code_schedules(stack.db, stack.client, stack.settings.task_queue)
        assert len((await env.http.get("/v1/schedules")).json()["data"]) == len(listed)
    finally:
        temporal_schedules.CODE_SCHEDULES.pop("monday-welcome", None)
    await temporal_schedules.sync_code_schedules(stack.db, stack.client, stack.settings.task_queue)
    assert (await env.http.get(f"/v1/schedules/{code['_id']}")).status_code == 404
    assert await temporal_schedules.describe(stack.client, env.id, code["_id"]) is None
