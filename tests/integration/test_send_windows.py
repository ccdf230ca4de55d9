"""Delivery in the subscriber's own time: step send windows and subscriber schedules, across time zones and
DST, waiting in durable timers (time-skipping where hours pass), critical workflows going now, cancel."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowExecutionStatus

from tests.support import Env, Stack, eventually
from tests.timing_support import define, details, in_app_contents, step, time_skipping_stack
from tidings.send_windows import WindowError, at, next_open, step_window, subscriber_schedule
from workflows.models import execution_id, fork_id, fork_prefix

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS_9_TO_6 = {"days": ["MO", "TU", "WE", "TH", "FR"], "start": "09:00", "end": "18:00"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- the calendar arithmetic --------------------------------------------------------------------------


def test_a_weekday_window_waits_over_the_weekend() -> None:
    friday_evening = utc(2027, 1, 1, 20, 0)  # 21:00 in Paris
    assert next_open(friday_evening, PARIS, [step_window(WEEKDAYS_9_TO_6)]) == utc(2027, 1, 4, 8, 0)
    monday_noon = utc(2027, 1, 4, 11, 0)
    assert next_open(monday_noon, PARIS, [step_window(WEEKDAYS_9_TO_6)]) is None


def test_step_window_and_subscriber_schedule_must_both_allow() -> None:
    schedule = subscriber_schedule(
        {
            "isEnabled": True,
            "weeklySchedule": {
                "monday": {"isEnabled": True, "hours": [{"start": "10:30 AM", "end": "05:00 PM"}]},
                "tuesday": {"isEnabled": False},
            },
        }
    )
    assert schedule is not None
    rules = [step_window(WEEKDAYS_9_TO_6), schedule]
    assert next_open(utc(2027, 1, 4, 7, 0), PARIS, rules) == utc(2027, 1, 4, 9, 30)
    # After Monday's hours: Tuesday is off, Wednesday is not in the schedule → the next Monday.
    assert next_open(utc(2027, 1, 4, 17, 0), PARIS, rules) == utc(2027, 1, 11, 9, 30)
    assert subscriber_schedule({"isEnabled": False, "weeklySchedule": {}}) is None


def test_dst_changes_keep_local_hours() -> None:
    window = [step_window({"start": "09:00", "end": "10:00"})]
    # Saturday before the spring change: 09:00 Paris is 08:00 UTC; the Sunday after it, 07:00 UTC.
    assert next_open(utc(2027, 3, 27, 12, 0), PARIS, window) == utc(2027, 3, 28, 7, 0)
    assert next_open(utc(2027, 10, 30, 12, 0), PARIS, window) == utc(2027, 10, 31, 8, 0)
    # A window opening inside the skipped hour opens when the clocks jump (03:00 CEST = 01:00 UTC).
    gap = [step_window({"start": "02:30", "end": "04:00"})]
    assert next_open(utc(2027, 3, 27, 12, 0), PARIS, gap) == utc(2027, 3, 28, 1, 0)
    assert at(date(2027, 10, 31), 150, PARIS) == utc(2027, 10, 31, 0, 30)  # the first 02:30 of two


def test_quiet_nights_and_bad_windows() -> None:
    nights_off = [step_window({"start": "22:00", "end": "07:00"})]  # allowed outside 07:00–22:00? no:
    # start > end wraps midnight: the allowed hours are 22:00 → 07:00.
    assert next_open(utc(2027, 1, 4, 12, 0), ZoneInfo("UTC"), nights_off) == utc(2027, 1, 4, 22, 0)
    with pytest.raises(WindowError):
        step_window({"days": ["XX"], "start": "09:00", "end": "10:00"})
    with pytest.raises(WindowError):
        step_window({"start": "25:00", "end": "26:00"})
    never = subscriber_schedule({"isEnabled": True, "weeklySchedule": {}})
    assert never is not None
    with pytest.raises(WindowError):
        next_open(utc(2027, 1, 4, 12, 0), PARIS, [never])


# -- end to end ------------------------------------------------------------------------------------


def closed_window(hours_ahead: int = 6) -> dict[str, Any]:
    """A window (UTC) that opens ``hours_ahead`` hours from now and lasts an hour: closed right now."""
    opens = (datetime.now(UTC) + timedelta(hours=hours_ahead)).replace(minute=0, second=0, microsecond=0)
    return {"start": opens.strftime("%H:%M"), "end": (opens + timedelta(hours=1)).strftime("%H:%M")}


def windowed(step_id: str, content: str, window: dict[str, Any]) -> dict[str, Any]:
    return step(step_id, "in_app", content, sendWindow=window)


async def test_outside_the_window_the_message_waits_then_arrives(stack: Stack) -> None:
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        await define(
            env,
            "weekly-news",
            [step("now", "in_app", "Right away"), windowed("later", "In office hours", closed_window())],
        )
        resp = await env.trigger(
            "weekly-news", [{"subscriberId": "ada", "timezone": "UTC"}], {}, transactionId="sw-1"
        )
        assert resp.status_code == 201
        await env.settle("sw-1")
        assert await in_app_contents(env, "ada") == ["Right away"]
        waits = await env.sql(
            "select raw from execution_details where transaction_id = 'sw-1' and detail = :d",
            d="Step delayed until the send window opens",
        )
        assert len(waits) == 1
        until = datetime.fromisoformat(waits[0].raw["until"])
        assert timedelta(hours=5) < until - datetime.now(UTC) < timedelta(hours=6, minutes=1)
        [(internal_id,)] = await env.sql("select id from subscribers where subscriber_id = 'ada'")
        fork = fork_id(
            env.id,
            "sw-1",
            execution_id(env.id, "sw-1"),
            f"window:later:{int(until.timestamp())}:{internal_id}",
        )
        described = await skipping.client.get_workflow_handle(fork).describe()
        assert described.status == WorkflowExecutionStatus.RUNNING
        await server.sleep(timedelta(hours=7).total_seconds())
        await skipping.client.get_workflow_handle(fork).result()
        assert await in_app_contents(env, "ada") == ["Right away", "In office hours"]


async def test_critical_workflows_do_not_wait(env: Env) -> None:
    await define(env, "password-reset", [windowed("code", "Your code", closed_window())])
    await env.sql(
        "update workflow_definitions set critical = true where trigger_identifier = 'password-reset' returning id"
    )
    await env.trigger(
        "password-reset", [{"subscriberId": "ada", "timezone": "UTC"}], {}, transactionId="crit-1"
    )
    await env.settle("crit-1")
    assert await in_app_contents(env, "ada") == ["Your code"]
    assert "Step delayed until the send window opens" not in await details(env, "crit-1")


async def test_the_subscriber_schedule_holds_email_not_the_inbox(env: Env, stack: Stack) -> None:
    hours = closed_window()
    day = datetime.now(UTC) + timedelta(hours=6)
    schedule = {
        "isEnabled": True,
        "weeklySchedule": {
            day.strftime("%A").lower(): {"isEnabled": True, "hours": [hours]},
        },
    }
    created = await env.http.post(
        "/v1/subscribers", json={"subscriberId": "bo", "email": "bo@example.com", "timezone": "UTC"}
    )
    assert created.status_code == 201
    put = await env.http.put("/v1/subscribers/bo/schedule", json=schedule)
    assert put.status_code == 200, put.text
    assert (await env.http.get("/v1/subscribers/bo/schedule")).json()["data"] == schedule
    await env.trigger("welcome", "bo", {"name": "Bo"}, transactionId="sched-1")
    await env.settle("sched-1")
    assert (await env.feed("bo"))["totalCount"] == 1  # the inbox got it at once
    assert stack.mailbox.to("bo@example.com") == []  # the email waits for Bo's hours
    rows = await env.sql(
        "select channel from execution_details where transaction_id = 'sched-1' and detail = :d",
        d="Step delayed until the send window opens",
    )
    assert [r.channel for r in rows] == ["email"]

    # Cancel by transactionId reaches the waiting email.
    forks = [
        w
        async for w in stack.client.list_workflows(
            f'WorkflowId STARTS_WITH "{fork_prefix(env.id, "sched-1")}window:"'
        )
    ]
    assert len(forks) == 1
    assert (await env.http.delete("/v1/events/trigger/sched-1")).status_code == 200
    handle = stack.client.get_workflow_handle(forks[0].id)

    async def cancelled() -> bool:
        return (await handle.describe()).status in (
            WorkflowExecutionStatus.CANCELED,
            WorkflowExecutionStatus.TERMINATED,
        )

    await eventually(cancelled)


async def test_unknown_timezone_falls_back_to_utc_and_says_so(env: Env) -> None:
    await define(env, "tz-bad", [windowed("later", "Later", closed_window())])
    await env.trigger("tz-bad", [{"subscriberId": "zed", "timezone": "Moon/Base"}], {}, transactionId="tz-1")
    await env.settle("tz-1")
    found = await details(env, "tz-1")
    assert "Unknown timezone; UTC used for the send window" in found
    assert "Step delayed until the send window opens" in found
    assert await in_app_contents(env, "zed") == []


async def test_bad_schedule_bodies_are_400(env: Env) -> None:
    await env.http.post("/v1/subscribers", json={"subscriberId": "cy"})
    for body, needle in [
        ({"isEnabled": True, "weeklySchedule": {"caturday": {"isEnabled": True}}}, "days of the week"),
        (
            {
                "isEnabled": True,
                "weeklySchedule": {"monday": {"isEnabled": True, "hours": [{"start": "9", "end": "x"}]}},
            },
            "not a time of day",
        ),
    ]:
        resp = await env.http.put("/v1/subscribers/cy/schedule", json=body)
        assert resp.status_code == 400 and needle in str(resp.json()["message"]), resp.text
    assert (
        await env.http.put("/v1/subscribers/nobody/schedule", json={"isEnabled": False})
    ).status_code == 404


async def test_code_workflows_declare_send_windows_too(env: Env) -> None:
    from tests import catalog_fixtures
    from workflows.dsl import REGISTRY

    specs = await REGISTRY["test-windowed"].outline()
    assert [s.metadata for s in specs] == [{}, {"sendWindow": catalog_fixtures.CODE_WINDOW}]
    await catalog_fixtures.add_to(env, "test-windowed")
    await env.trigger("test-windowed", [{"subscriberId": "ada", "timezone": "UTC"}], {}, transactionId="cw-1")
    await env.settle("cw-1")
    assert await in_app_contents(env, "ada") == ["Right away"]
    assert "Step delayed until the send window opens" in await details(env, "cw-1")


async def test_the_schedule_set_from_the_inbox_is_the_one_delivery_honours(env: Env, stack: Stack) -> None:
    """@novu/js sends ``PATCH /v1/inbox/preferences {schedule}`` (preferences.schedule.update) and reads it
    back from ``/v1/inbox/preferences/global``: the same schedule the REST route shows and delivery obeys."""
    from tests.inbox_support import open_session

    day = datetime.now(UTC) + timedelta(hours=6)
    schedule = {
        "isEnabled": True,
        "weeklySchedule": {day.strftime("%A").lower(): {"isEnabled": True, "hours": [closed_window()]}},
    }
    created = await env.http.post(
        "/v1/subscribers", json={"subscriberId": "ines", "email": "ines@example.com", "timezone": "UTC"}
    )
    assert created.status_code == 201
    browser, _ = await open_session(env, "ines")
    resp = await browser.patch("/v1/inbox/preferences", json={"schedule": schedule})
    assert resp.status_code == 200, resp.text
    assert (await browser.get("/v1/inbox/preferences/global")).json()["data"]["schedule"] == schedule
    assert (await env.http.get("/v1/subscribers/ines/schedule")).json()["data"] == schedule
    await env.trigger("welcome", "ines", {"name": "Ines"}, transactionId="inbox-sched-1")
    await env.settle("inbox-sched-1")
    assert stack.mailbox.to("ines@example.com") == []
    assert "Step delayed until the send window opens" in await details(env, "inbox-sched-1")
    bad = await browser.patch("/v1/inbox/preferences", json={"schedule": {"isEnabled": "maybe"}})
    assert bad.status_code == 400
