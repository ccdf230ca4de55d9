"""Step filters: every operator (unit), and conditions, previousStep and variants end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.conditions import MISSING, SubscriberFacts, compare, evaluate_filters
from tests.support import Env, Stack, eventually
from tests.timing_support import time_skipping_stack


@pytest.mark.parametrize(
    ("operator", "actual", "expected", "result"),
    [
        ("EQUAL", "a", "a", True),
        ("EQUAL", 5, "5", True),  # the expected value takes the actual value's type
        ("EQUAL", True, "true", True),
        ("EQUAL", False, "true", False),
        ("EQUAL", "5", 5, True),
        ("EQUAL", MISSING, "a", False),
        ("NOT_EQUAL", "a", "b", True),
        ("NOT_EQUAL", 5, "5", False),
        ("NOT_EQUAL", MISSING, "a", True),
        ("LARGER", 10, "9", True),
        ("LARGER", 9, "9", False),
        ("SMALLER", 3, 4, True),
        ("LARGER_EQUAL", 9, "9", True),
        ("SMALLER_EQUAL", 9, "8", False),
        ("LARGER", "b", "a", True),
        ("LARGER", MISSING, 1, False),
        ("IN", "pro", ["free", "pro"], True),
        ("IN", 2, ["1", "2"], True),
        ("IN", ["x", "y"], "y", True),
        ("IN", "hello world", "world", True),
        ("NOT_IN", "basic", ["free", "pro"], True),
        ("NOT_IN", ["x"], "x", False),
        ("IS_DEFINED", None, None, True),
        ("IS_DEFINED", MISSING, None, False),
        ("ALL_IN", ["a", "b", "c"], ["a", "c"], True),
        ("ALL_IN", ["a"], "a,b", False),
        ("ANY_IN", ["a", "b"], ["c", "b"], True),
        ("ANY_IN", "a", ["b"], False),
        ("BETWEEN", 5, [1, 10], True),
        ("BETWEEN", 5, "6,10", False),
        ("BETWEEN", "2024-05-01", ["2024-01-01", "2024-12-31"], True),
        ("NOT_BETWEEN", 11, [1, 10], True),
        ("NOT_BETWEEN", 1, [1, 10], False),
        ("LIKE", "Hello World", "hello%", True),
        ("LIKE", "Hello World", "world", True),
        ("LIKE", "abc", "a_c", True),
        ("LIKE", "abc", "a_d", False),
        ("NOT_LIKE", "abc", "x%", True),
        ("NOT_LIKE", "abc", "%b%", False),
    ],
)
def test_operators(operator: str, actual: Any, expected: Any, result: bool) -> None:
    assert compare(operator, actual, expected) is result


def facts(**variables: Any) -> SubscriberFacts:
    return SubscriberFacts(variables={"payload": {}, "subscriber": {}, **variables})


def group(value: str, *children: dict[str, Any], negated: bool = False) -> dict[str, Any]:
    return {"type": "GROUP", "value": value, "isNegated": negated, "children": list(children)}


def test_groups_are_ored_and_children_combined_by_value() -> None:
    is_pro = {"on": "payload", "field": "plan", "operator": "EQUAL", "value": "pro"}
    is_admin = {"on": "subscriber", "field": "data.role", "operator": "EQUAL", "value": "admin"}
    pro = facts(payload={"plan": "pro"}, subscriber={"data": {"role": "user"}})
    assert evaluate_filters([], pro).passed
    assert evaluate_filters([group("AND")], pro).passed
    assert not evaluate_filters([group("AND", is_pro, is_admin)], pro).passed
    assert evaluate_filters([group("OR", is_pro, is_admin)], pro).passed
    assert evaluate_filters([group("AND", is_admin), group("AND", is_pro)], pro).passed
    assert not evaluate_filters([group("AND", is_pro, negated=True)], pro).passed
    outcome = evaluate_filters([group("AND", is_pro, is_admin)], pro)
    assert [c["passed"] for c in outcome.conditions] == [True, False]
    tenant = {"on": "tenant", "field": "data.tier", "operator": "IN", "value": ["gold", "silver"]}
    assert evaluate_filters([group("AND", tenant)], facts(tenant={"data": {"tier": "gold"}})).passed
    assert not evaluate_filters([group("AND", tenant)], facts(tenant=None)).passed
    actor = {"on": "actor", "field": "firstName", "operator": "IS_DEFINED"}
    assert evaluate_filters([group("AND", actor)], facts(actor={"firstName": "G"})).passed


def test_online_and_previous_step_conditions() -> None:
    now = datetime(2024, 1, 1, 12, tzinfo=UTC)
    online = {"on": "isOnline", "value": True}
    recently = {"on": "isOnlineInLast", "value": 5, "timeOperator": "minutes"}
    read = {"on": "previousStep", "step": "s1", "stepType": "read"}
    unseen = {"on": "previousStep", "step": "s1", "stepType": "unseen"}
    base = SubscriberFacts(variables={}, is_online=False, last_online_at=now - timedelta(minutes=3), now=now)
    assert not evaluate_filters([group("AND", online)], base).passed
    assert evaluate_filters([group("AND", recently)], base).passed
    base.last_online_at = now - timedelta(minutes=6)
    assert not evaluate_filters([group("AND", recently)], base).passed
    base.is_online = True
    assert evaluate_filters([group("AND", online, recently)], base).passed
    assert not evaluate_filters([group("AND", read)], base).passed  # no message for that step
    base.step_messages = {"s1": {"read": False, "seen": False}}
    assert evaluate_filters([group("AND", unseen)], base).passed
    assert not evaluate_filters([group("AND", read)], base).passed
    base.step_messages = {"s1": {"read": True, "seen": True}}
    assert evaluate_filters([group("AND", read)], base).passed
    assert not evaluate_filters([group("AND", unseen)], base).passed
    assert not evaluate_filters([group("AND", {"on": "webhook", "webhookUrl": "http://x"})], base).passed


async def create(env: Env, steps: list[dict[str, Any]]) -> str:
    body = {"name": "Conditions", "notificationGroup": {"name": "General"}, "active": True, "steps": steps}
    resp = await env.http.post("/v1/workflows", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]["triggers"][0]["identifier"]  # type: ignore[no-any-return]


async def test_filters_end_to_end_per_subscriber(env: Env) -> None:
    vip = {"on": "subscriber", "field": "data.vip", "operator": "EQUAL", "value": "true"}
    big = {"on": "payload", "field": "amount", "operator": "LARGER", "value": "100"}
    identifier = await create(
        env,
        [
            {
                "filters": [group("OR", vip, big)],
                "template": {"type": "in_app", "content": "filtered {{amount}}"},
            },
            {"template": {"type": "in_app", "content": "always"}},
        ],
    )
    to = [{"subscriberId": "vip", "data": {"vip": True}}, {"subscriberId": "plain", "data": {"vip": False}}]
    await env.trigger(identifier, to, {"amount": 50}, transactionId="tx-f1")
    await env.settle("tx-f1")
    assert sorted(m["content"] for m in (await env.feed("vip"))["data"]) == ["always", "filtered 50"]
    assert [m["content"] for m in (await env.feed("plain"))["data"]] == ["always"]
    await env.trigger(identifier, "plain", {"amount": 500}, transactionId="tx-f2")
    await env.settle("tx-f2")
    assert sorted(m["content"] for m in (await env.feed("plain"))["data"]) == [
        "always",
        "always",
        "filtered 500",
    ]


async def test_previous_step_read_state(stack: Stack) -> None:
    """The delay is an hour on the time-skipping server: the read happens before it ends whatever the
    machine's speed, and the test then moves the clock past it."""
    async with time_skipping_stack(stack) as (skipping, server):
        env = await skipping.new_env()
        await _previous_step_read_state(env, server)


async def _previous_step_read_state(env: Env, server: WorkflowEnvironment) -> None:
    created = await env.http.post(
        "/v1/workflows",
        json={
            "name": "Reminder",
            "notificationGroup": {"name": "General"},
            "active": True,
            "steps": [
                {"uuid": "first", "template": {"type": "in_app", "content": "first"}},
                {
                    "template": {"type": "delay", "content": ""},
                    "metadata": {"type": "regular", "amount": 1, "unit": "hours"},
                },
                {
                    "filters": [group("AND", {"on": "previousStep", "step": "first", "stepType": "unread"})],
                    "template": {"type": "in_app", "content": "reminder"},
                },
            ],
        },
    )
    identifier = created.json()["data"]["triggers"][0]["identifier"]
    for sub in ("reader", "ignorer"):
        await env.http.post("/v1/subscribers", json={"subscriberId": sub})
    await env.trigger(identifier, ["reader", "ignorer"], {}, transactionId="tx-prev")

    async def first_message() -> str | None:
        data = (await env.feed("reader"))["data"]
        return data[0]["_id"] if data else None

    message_id = await eventually(first_message)
    marked = await env.http.post(
        "/v1/subscribers/reader/messages/mark-as", json={"messageId": message_id, "markAs": "read"}
    )
    assert marked.status_code == 201, marked.text
    await server.sleep(timedelta(hours=2))
    await env.settle("tx-prev")
    assert [m["content"] for m in (await env.feed("reader"))["data"]] == ["first"]
    assert sorted(m["content"] for m in (await env.feed("ignorer"))["data"]) == ["first", "reminder"]


async def test_variants_are_chosen_by_conditions(env: Env) -> None:
    await env.http.post("/v1/tenants", json={"identifier": "acme", "name": "Acme", "data": {"tier": "gold"}})
    gold = {"on": "tenant", "field": "data.tier", "operator": "EQUAL", "value": "gold"}
    german = {"on": "subscriber", "field": "locale", "operator": "EQUAL", "value": "de"}
    identifier = await create(
        env,
        [
            {
                "template": {"type": "in_app", "content": "Hello {{name}}"},
                "variants": [
                    {
                        "name": "de",
                        "filters": [group("AND", german)],
                        "template": {"content": "Hallo {{name}}"},
                    },
                    {
                        "name": "gold",
                        "filters": [group("AND", gold)],
                        "template": {"content": "Dear {{name}}"},
                    },
                ],
            }
        ],
    )
    to = [{"subscriberId": "de", "locale": "de"}, {"subscriberId": "en", "locale": "en"}]
    await env.trigger(identifier, to, {"name": "Ada"}, transactionId="tx-v1")
    await env.trigger(identifier, "en", {"name": "Ada"}, transactionId="tx-v2", tenant="acme")
    await env.settle("tx-v1")
    await env.settle("tx-v2")
    assert [m["content"] for m in (await env.feed("de"))["data"]] == ["Hallo Ada"]
    assert sorted(m["content"] for m in (await env.feed("en"))["data"]) == ["Dear Ada", "Hello Ada"]
    chosen = await env.sql(
        "select count(*) from execution_details where environment_id = :e and detail = :d",
        e=env.id,
        d="Variant was chosen by the provided condition criteria",
    )
    assert chosen[0][0] == 2
    no_conditions = await env.http.post(
        "/v1/workflows",
        json={
            "name": "Bad variant",
            "notificationGroup": {"name": "General"},
            "steps": [
                {"template": {"type": "in_app", "content": "x"}, "variants": [{"name": "v", "template": {}}]}
            ],
        },
    )
    assert no_conditions.status_code == 400
    assert no_conditions.json()["message"].startswith("Variant conditions are required, variant name v id ")


async def test_action_step_conditions(env: Env) -> None:
    """A delay whose conditions filter out the cohort is skipped (Novu: a filtered delay waits 0)."""
    urgent = {"on": "payload", "field": "urgent", "operator": "EQUAL", "value": "false"}
    identifier = await create(
        env,
        [
            {
                "filters": [group("AND", urgent)],
                "template": {"type": "delay", "content": ""},
                "metadata": {"type": "regular", "amount": 1, "unit": "days"},
            },
            {"template": {"type": "in_app", "content": "now"}},
        ],
    )
    await env.trigger(identifier, "busy", {"urgent": True}, transactionId="tx-urgent")
    await env.settle("tx-urgent")  # would wait a day if the delay ran
    assert [m["content"] for m in (await env.feed("busy"))["data"]] == ["now"]
    rows = await env.sql(
        "select step_id, raw from execution_details where transaction_id = 'tx-urgent' and detail = :d",
        d="Step was filtered based on steps filters",
    )
    assert len(rows) == 1
