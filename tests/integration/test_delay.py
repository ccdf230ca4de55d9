"""Delay steps: regular, overridden, scheduled, at the subscriber's local time, and their errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.schedule import next_local_time, zone
from tests.support import Env, Stack, eventually
from tests.timing_support import define, details, in_app, in_app_contents, step, time_skipping_stack
from workflows.models import execution_id, fork_id, fork_prefix
from workflows.steps.timing import TimingError, duration, scheduled_until


def delay_flow(**metadata: Any) -> list[dict[str, Any]]:
    return [in_app("before", "Not delayed"), step("wait", "delay", **metadata), in_app("after", "Delayed")]


async def delayed_until(env: Env, tx: str) -> datetime:
    rows = await env.sql(
        "select raw from execution_details where environment_id = :e and transaction_id = :t and detail = 'Step delayed'",
        e=env.id,
        t=tx,
    )
    raw = rows[0][0]
    raw = json.loads(raw) if isinstance(raw, str) else raw
    return datetime.fromisoformat(raw["until"])


async def started_at(env: Env, tx: str) -> datetime:
    described = await env.stack.client.get_workflow_handle(execution_id(env.id, tx)).describe()
    return described.start_time


def test_units_are_real_conversions() -> None:
    assert duration(1, "weeks") == timedelta(days=7)
    assert duration(2, "months") == timedelta(days=60)
    assert duration(90, "minutes") == timedelta(hours=1, minutes=30)
    with pytest.raises(TimingError):
        duration(1, "fortnights")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(TimingError, match="Delay date at path sendAt must be a future date"):
        scheduled_until({"sendAt": "2025-01-01T00:00:00.000Z"}, "sendAt", now)
    with pytest.raises(TimingError):
        scheduled_until({}, "sendAt", now)
    assert scheduled_until({"a": {"b": "2026-01-02T00:00:00Z"}}, "a.b", now) == now + timedelta(days=1)


def test_next_local_time_in_two_timezones() -> None:
    now = datetime(2026, 3, 10, 7, 30, tzinfo=UTC)
    assert next_local_time(now, "09:00", zone("Europe/Paris")) == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    assert next_local_time(now, "08:00", zone("Europe/Paris")) == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    assert next_local_time(now, "09:00", zone("America/New_York")) == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    assert next_local_time(now, "09:00", zone(None)) == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert next_local_time(now, "09:00", zone("Not/AZone")) == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


async def test_regular_delay(env: Env) -> None:
    await define(env, "delay-regular", delay_flow(type="regular", amount=2, unit="seconds"))
    await env.trigger("delay-regular", "del", {}, transactionId="dr-1")
    assert await eventually(lambda: _contents(env, "del", 1)) == ["Not delayed"]
    assert "Delay is finished" not in await details(env, "dr-1")
    await env.settle("dr-1")
    assert await in_app_contents(env, "del") == ["Not delayed", "Delayed"]
    found = await details(env, "dr-1")
    assert found.index("Step delayed") < found.index("Delay is finished")
    assert await delayed_until(env, "dr-1") - await started_at(env, "dr-1") >= timedelta(seconds=1.9)


async def test_overrides_delay_replaces_the_step_delay(env: Env) -> None:
    await define(env, "delay-override", delay_flow(type="regular", amount=0.1, unit="seconds"))
    await env.trigger(
        "delay-override",
        "ovr",
        {},
        transactionId="do-1",
        overrides={"delay": {"amount": 2, "unit": "seconds"}},
    )
    await env.settle("do-1")
    assert await in_app_contents(env, "ovr") == ["Not delayed", "Delayed"]
    assert await delayed_until(env, "do-1") - await started_at(env, "do-1") >= timedelta(seconds=1.9)


async def test_scheduled_delay(stack: Stack) -> None:
    """On the time-skipping server: ``sendAt`` is an hour ahead of the server's clock, so it cannot pass
    before the workflow reads it; the test then moves the clock past it."""
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        await define(env, "delay-scheduled", delay_flow(type="scheduled", delayPath="sendAt"))
        at = await server.get_current_time() + timedelta(hours=1)
        send_at = at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        await env.trigger("delay-scheduled", "sch", {"sendAt": send_at}, transactionId="ds-1")
        await eventually(lambda: _has(env, "ds-1", "Step delayed"))
        await server.sleep(timedelta(hours=2))
        await env.settle("ds-1")
        assert await in_app_contents(env, "sch") == ["Not delayed", "Delayed"]
        assert await delayed_until(env, "ds-1") == datetime.fromisoformat(send_at)


async def test_scheduled_delay_in_the_past_fails_the_step(env: Env) -> None:
    await define(env, "delay-past", delay_flow(type="scheduled", delayPath="sendAt"))
    resp = await env.trigger(
        "delay-past", "pst", {"sendAt": "2020-01-01T00:00:00.000Z"}, transactionId="dp-1"
    )
    assert resp.status_code == 201, resp.text
    await env.settle("dp-1")
    assert await in_app_contents(env, "pst") == ["Not delayed"]
    rows = await env.sql(
        "select status, raw from execution_details where environment_id = :e and detail = 'Invalid delay configuration'",
        e=env.id,
    )
    assert rows and rows[0][0] == "Failed"
    assert "Delay date at path sendAt must be a future date" in json.dumps(rows[0][1])


async def test_bad_unit_fails_the_step_not_the_worker(env: Env) -> None:
    await define(env, "delay-bad", delay_flow(type="regular", amount=1, unit="fortnights"))
    await env.trigger("delay-bad", "bad", {}, transactionId="db-1")
    await env.settle("db-1")
    assert await in_app_contents(env, "bad") == ["Not delayed"]
    assert "Invalid delay configuration" in await details(env, "db-1")


async def test_local_time_splits_the_cohort_by_timezone(stack: Stack) -> None:
    """Two subscribers, one trigger: the UTC one wakes at the given time, the UTC-1 one an hour later in
    an execution of its own. On the time-skipping server, so the time of day cannot pass before the
    workflow reads it."""
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        at = (await server.get_current_time() + timedelta(minutes=30)).strftime("%H:%M:%S")
        await define(env, "delay-local", delay_flow(type="local_time", atTime=at))
        to = [{"subscriberId": "utc", "timezone": "UTC"}, {"subscriberId": "west", "timezone": "Etc/GMT+1"}]
        await env.trigger("delay-local", to, {}, transactionId="dl-1")

        async def both_delayed() -> list[Any] | None:
            rows = await env.sql(
                "select s.subscriber_id, d.raw from execution_details d join subscribers s on s.id = d.subscriber_id "
                "where d.environment_id = :e and d.detail = 'Step delayed'",
                e=env.id,
            )
            return rows if len(rows) == 2 else None

        delayed = dict(await eventually(both_delayed))
        await server.sleep(timedelta(minutes=45))
        await env.settle("dl-1")
        assert await in_app_contents(env, "utc") == ["Not delayed", "Delayed"]
        assert await in_app_contents(env, "west") == ["Not delayed"]
        raw = delayed["west"]
        until = datetime.fromisoformat((json.loads(raw) if isinstance(raw, str) else raw)["until"])
        assert until - datetime.fromisoformat(
            (json.loads(delayed["utc"]) if isinstance(delayed["utc"], str) else delayed["utc"])["until"]
        ) == timedelta(hours=1)
        (west_id,) = (
            await env.sql(
                "select id from subscribers where subscriber_id = 'west' and environment_id = :e", e=env.id
            )
        )[0]
        fork = fork_id(
            env.id, "dl-1", execution_id(env.id, "dl-1"), f"at:wait:{int(until.timestamp())}:{west_id}"
        )
        assert (
            await skipping.client.get_workflow_handle(fork).describe()
        ).status == WorkflowExecutionStatus.RUNNING


@pytest.mark.parametrize("main", ["completed", "deleted"])
async def test_cancel_reaches_a_fork_after_the_main_execution_finished(env: Env, main: str) -> None:
    """The UTC subscriber's short delay ends and the main execution completes; the UTC-1 subscriber
    still waits an hour more in its fork. Cancelling the transaction cancels that fork: a finished
    execution, or one already removed by the namespace's retention (a fork may run for days after it,
    through later delay steps), is passed over, not the end of the search. Not on the time-skipping server: it cannot
    list executions, which is how cancel finds forks. The time of day is 20 s ahead: a slow start only
    makes the test fail (the main execution would wait a day), never pass wrongly."""
    at = (datetime.now(UTC) + timedelta(seconds=20)).strftime("%H:%M:%S")
    await define(env, "delay-late", delay_flow(type="local_time", atTime=at))
    to = [{"subscriberId": "utc", "timezone": "UTC"}, {"subscriberId": "west", "timezone": "Etc/GMT+1"}]
    await env.trigger("delay-late", to, {}, transactionId="dl-4")

    async def forks() -> list[Any] | None:
        prefix = f"{fork_prefix(env.id, 'dl-4')}at:"
        found = [w async for w in env.stack.client.list_workflows(f'WorkflowId STARTS_WITH "{prefix}"')]
        return found or None

    (fork,) = await eventually(forks)
    await env.settle("dl-4", timeout=120)
    assert await in_app_contents(env, "utc") == ["Not delayed", "Delayed"]
    if main == "deleted":  # as retention does
        root = env.stack.client.get_workflow_handle(execution_id(env.id, "dl-4"))
        await env.stack.client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(
                namespace=env.stack.client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=root.id),
            )
        )

        async def gone() -> bool:
            try:
                await root.describe()
            except RPCError as exc:
                return exc.status == RPCStatusCode.NOT_FOUND
            return False

        await eventually(gone, timeout=60)
    resp = await env.http.delete("/v1/events/trigger/dl-4")
    assert resp.json() == {"data": True}
    handle = env.stack.client.get_workflow_handle(fork.id)

    async def cancelled() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.CANCELED

    await eventually(cancelled)
    assert await in_app_contents(env, "west") == ["Not delayed"]


async def test_cancel_finds_the_local_time_fork(env: Env) -> None:
    """The subscriber who wakes later runs in an execution of its own; cancel finds and cancels it with
    the main one. The time of day is half an hour ahead, so no timer fires during the test."""
    at = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%H:%M:%S")
    await define(env, "delay-local", delay_flow(type="local_time", atTime=at))
    to = [{"subscriberId": "utc", "timezone": "UTC"}, {"subscriberId": "west", "timezone": "Etc/GMT+1"}]
    await env.trigger("delay-local", to, {}, transactionId="dl-2")

    async def forks() -> list[Any] | None:
        prefix = f"{fork_prefix(env.id, 'dl-2')}at:"
        found = [w async for w in env.stack.client.list_workflows(f'WorkflowId STARTS_WITH "{prefix}"')]
        return found or None

    (fork,) = await eventually(forks)
    resp = await env.http.delete("/v1/events/trigger/dl-2")
    assert resp.json() == {"data": True}
    handles = [env.stack.client.get_workflow_handle(w) for w in (fork.id, execution_id(env.id, "dl-2"))]

    async def cancelled() -> bool:
        return all([(await h.describe()).status == WorkflowExecutionStatus.CANCELED for h in handles])

    await eventually(cancelled)
    assert await in_app_contents(env, "west") == ["Not delayed"]
    assert await in_app_contents(env, "utc") == ["Not delayed"]


async def _has(env: Env, tx: str, text: str) -> bool:
    return text in await details(env, tx)


async def _contents(env: Env, sid: str, count: int) -> list[str] | None:
    found = await in_app_contents(env, sid)
    return found if len(found) >= count else None
