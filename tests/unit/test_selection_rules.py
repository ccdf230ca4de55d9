"""Integration selection rules, fast and exhaustive: tenant conditions (Novu's operators and coercion),
failover order, subscriber credentials per integration, push/chat fan-out targets. The test selection
``make mutation`` runs against ``activities/senders/selection.py``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from activities.senders.selection import (
    conditions_pass,
    failover_order,
    fanout_targets,
    subscriber_credentials,
)


def integ(**fields: Any) -> Any:
    values = {
        "id": "i",
        "identifier": "x",
        "provider_id": "p",
        "primary": False,
        "priority": 0,
        "conditions": [],
        "created_at": 0,
    }
    return SimpleNamespace(**{**values, **fields})


def when(
    operator: str, value: Any, field: str = "data.v", group: str = "AND", **extra: Any
) -> list[dict[str, Any]]:
    return [
        {
            "value": group,
            "children": [{"on": "tenant", "field": field, "operator": operator, "value": value}],
            **extra,
        }
    ]


@pytest.mark.parametrize(
    ("operator", "value", "actual", "expected"),
    [
        ("EQUAL", "a", "a", True),
        ("EQUAL", "a", "b", False),
        ("NOT_EQUAL", "a", "b", True),
        ("NOT_EQUAL", "a", "a", False),
        ("LARGER", "5", 6, True),
        ("LARGER", "5", 5, False),
        ("SMALLER", "5", 4, True),
        ("SMALLER", "5", 5, False),
        ("LARGER_EQUAL", "5", 5, True),
        ("LARGER_EQUAL", "5", 4, False),
        ("SMALLER_EQUAL", "5", 5, True),
        ("SMALLER_EQUAL", "5", 6, False),
        ("IN", "pro", "pro-annual", True),
        ("IN", "pro", "free", False),
        ("NOT_IN", "pro", "free", True),
        ("NOT_IN", "pro", "pro-annual", False),
        ("IS_DEFINED", None, 0, True),
        ("EQUAL", "true", True, True),
        ("EQUAL", "false", True, False),
        ("EQUAL", "TRUE", True, True),
        ("EQUAL", "1.5", 1.5, True),
        ("EQUAL", "x", 1, False),  # not a number: compared as given
        ("EQUAL", 3, "3", True),  # a number against a string: compared as strings
        ("LARGER", "a", 3, False),  # incomparable: not passed, not an error
        ("UNKNOWN_OP", "a", "a", False),
        ("equal", "a", "a", True),  # operators are case-insensitive
    ],
)
def test_operators(operator: str, value: Any, actual: Any, expected: bool) -> None:
    assert conditions_pass(when(operator, value), {"data": {"v": actual}}) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [("IS_DEFINED", False), ("EQUAL", False), ("NOT_EQUAL", True), ("NOT_IN", True), ("IN", False)],
)
def test_missing_field(operator: str, expected: bool) -> None:
    assert conditions_pass(when(operator, "a"), {"data": {}}) is expected
    assert conditions_pass(when(operator, "a", field="data.v.deeper"), {"data": {"v": "str"}}) is expected


def test_equal_none_expected() -> None:
    assert conditions_pass(when("EQUAL", None), {"data": {"v": "x"}}) is False


def test_groups_and_negation() -> None:
    both = [
        {
            "value": "AND",
            "children": [
                {"on": "tenant", "field": "identifier", "operator": "EQUAL", "value": "acme"},
                {"on": "tenant", "field": "data.plan", "operator": "EQUAL", "value": "pro"},
            ],
        }
    ]
    assert conditions_pass(both, {"identifier": "acme", "data": {"plan": "pro"}})
    assert not conditions_pass(both, {"identifier": "acme", "data": {"plan": "free"}})
    either = [{**both[0], "value": "OR"}]
    assert conditions_pass(either, {"identifier": "acme", "data": {"plan": "free"}})
    assert not conditions_pass(either, {"identifier": "other", "data": {"plan": "free"}})
    assert not conditions_pass(when("EQUAL", "a", isNegated=True), {"data": {"v": "a"}})
    assert conditions_pass(when("EQUAL", "a", isNegated=True), {"data": {"v": "b"}})
    two_groups = when("EQUAL", "a") + when("EQUAL", "b")  # filters are OR-ed
    assert conditions_pass(two_groups, {"data": {"v": "b"}})
    assert not conditions_pass(two_groups, {"data": {"v": "c"}})
    assert conditions_pass([], None) and conditions_pass([{"value": "AND", "children": []}], None)
    assert not conditions_pass(when("EQUAL", "a"), None)
    default_and = [{"children": both[0]["children"]}]
    assert not conditions_pass(default_and, {"identifier": "acme", "data": {"plan": "free"}})
    default_on = [{"value": "AND", "children": [{"field": "identifier", "value": "acme"}]}]
    assert conditions_pass(default_on, {"identifier": "acme"})  # on: tenant, operator: EQUAL by default


def test_failover_order() -> None:
    acme = when("EQUAL", "acme", field="identifier")
    a = integ(identifier="a", priority=1, created_at=1)
    b = integ(identifier="b", primary=True, priority=0, created_at=2)
    c = integ(identifier="c", priority=5, created_at=3)
    d = integ(identifier="d", priority=5, created_at=0)
    t = integ(identifier="t", conditions=acme, created_at=4)
    u = integ(identifier="u", conditions=when("EQUAL", "globex", field="identifier"), created_at=5)
    every = [a, b, c, d, t, u]
    assert [i.identifier for i in failover_order(every, tenant=None, identifier=None)] == ["b", "d", "c", "a"]
    acme_order = failover_order(every, tenant={"identifier": "acme"}, identifier=None)
    assert [i.identifier for i in acme_order] == ["t", "b", "d", "c", "a"]
    assert [i.identifier for i in failover_order(every, tenant={}, identifier=None)] == ["b", "d", "c", "a"]
    assert [i.identifier for i in failover_order(every, tenant=None, identifier="a")] == ["a"]
    assert [i.identifier for i in failover_order(every, tenant=None, identifier="t")] == ["t"]
    assert failover_order(every, tenant=None, identifier="missing") == []


def test_fanout_targets() -> None:
    plain = integ(identifier="plain")
    acme = integ(identifier="acme", conditions=when("EQUAL", "acme", field="identifier"))
    assert [i.identifier for i in fanout_targets([plain, acme], tenant=None)] == ["plain"]
    assert [i.identifier for i in fanout_targets([plain, acme], tenant={"identifier": "acme"})] == [
        "plain",
        "acme",
    ]
    assert [i.identifier for i in fanout_targets([plain, acme], tenant={"identifier": "x"})] == ["plain"]


def test_subscriber_credentials_belong_to_the_integration() -> None:
    target = integ(id="i1", identifier="fcm-main", provider_id="fcm")
    sub = SimpleNamespace(
        channels=[
            {"providerId": "fcm", "credentials": {"deviceTokens": ["any"]}},
            {"providerId": "fcm", "_integrationId": "i1", "credentials": {"deviceTokens": ["by-id"]}},
            {"providerId": "fcm", "_integrationId": "i2", "credentials": {"deviceTokens": ["other-id"]}},
            {
                "providerId": "fcm",
                "integrationIdentifier": "fcm-main",
                "credentials": {"deviceTokens": ["by-ident"]},
            },
            {
                "providerId": "fcm",
                "integrationIdentifier": "fcm-b",
                "credentials": {"deviceTokens": ["other-ident"]},
            },
            {"providerId": "expo", "credentials": {"deviceTokens": ["expo"]}},
            {"providerId": "fcm"},
        ]
    )
    found = subscriber_credentials(sub, target)  # type: ignore[arg-type]
    assert found == [
        {"deviceTokens": ["any"]},
        {"deviceTokens": ["by-id"]},
        {"deviceTokens": ["by-ident"]},
        {},
    ]
    assert subscriber_credentials(SimpleNamespace(channels=None), target) == []  # type: ignore[arg-type]
