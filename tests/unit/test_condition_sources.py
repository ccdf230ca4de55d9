"""One evaluator of Novu conditions: step filters, variants and integration selection give one answer;
one home for dotted paths and deep merging."""

from __future__ import annotations

from typing import Any

import pytest

from activities.conditions import SubscriberFacts, evaluate_filters
from activities.senders.selection import conditions_pass, fanout_targets
from api.trigger_checks import with_defaults
from workflows.paths import MISSING, deep_merge, get_path, set_path
from workflows.steps.timing import payload_value

TENANT = {
    "identifier": "acme",
    "name": "Acme",
    "plan": "pro",
    "data": {"plan": "pro", "seats": 12, "tags": ["a", "b"]},
}


def tenant_rule(field: str, operator: str, value: Any) -> list[dict[str, Any]]:
    return [
        {"value": "AND", "children": [{"on": "tenant", "field": field, "operator": operator, "value": value}]}
    ]


@pytest.mark.parametrize(
    ("field", "operator", "value", "result"),
    [
        ("plan", "EQUAL", "pro", True),
        ("data.plan", "EQUAL", "pro", True),
        ("data.plan", "NOT_EQUAL", "pro", False),
        ("data.plan", "IN", ["pro", "team"], True),
        ("data.plan", "IN", ["free", "team"], False),
        ("data.plan", "NOT_IN", ["pro", "team"], False),
        ("data.plan", "LIKE", "p%", True),
        ("data.plan", "NOT_LIKE", "p%", False),
        ("data.seats", "BETWEEN", [10, 20], True),
        ("data.seats", "BETWEEN", "1,5", False),
        ("data.seats", "LARGER", "10", True),
        ("data.tags", "ANY_IN", ["b", "z"], True),
        ("data.tags", "ALL_IN", ["a", "z"], False),
        ("data.missing", "IS_DEFINED", None, False),
        ("data.missing", "NOT_EQUAL", "x", True),
    ],
)
def test_integration_selection_and_step_filters_agree(
    field: str, operator: str, value: Any, result: bool
) -> None:
    rule = tenant_rule(field, operator, value)
    step_filter = evaluate_filters(rule, SubscriberFacts(variables={"payload": {}, "tenant": TENANT}))
    assert step_filter.passed is result
    assert conditions_pass(rule, TENANT) is result


def test_integration_selection_uses_every_operator() -> None:
    """LIKE/BETWEEN/ANY_IN used to never pass when choosing chat/push integrations."""
    match = SimpleIntegration(conditions=tenant_rule("data.tags", "ANY_IN", ["b"]))
    miss = SimpleIntegration(conditions=tenant_rule("data.plan", "LIKE", "free%"))
    plain = SimpleIntegration(conditions=[])
    assert fanout_targets([match, miss, plain], tenant=TENANT) == [match, plain]  # type: ignore[list-item]


class SimpleIntegration:
    def __init__(self, conditions: list[dict[str, Any]]) -> None:
        self.conditions = conditions


def test_paths() -> None:
    data = {"a": {"b": [{"c": 1}, None]}, "n": None}
    assert get_path(data, "a.b.0.c") == 1
    assert get_path(data, "a.b.1") is None
    assert get_path(data, "n") is None
    assert get_path(data, "a.b.2") is MISSING
    assert get_path(data, "a.x", None) is None
    assert get_path(data, "") is data
    assert payload_value(data, "a.b.0.c") == 1
    assert payload_value(data, "a.zz") is None
    target: dict[str, Any] = {}
    set_path(target, "user.name.first", "Ada")
    assert target == {"user": {"name": {"first": "Ada"}}}


def test_deep_merge_leaves_its_arguments_alone() -> None:
    base = {"a": {"x": 1, "y": 2}, "list": [1]}
    over = {"a": {"y": 3}, "list": [2], "b": 1}
    merged = deep_merge(base, over)
    assert merged == {"a": {"x": 1, "y": 3}, "list": [2], "b": 1}
    assert base == {"a": {"x": 1, "y": 2}, "list": [1]}
    assert over == {"a": {"y": 3}, "list": [2], "b": 1}


def test_rest_variable_defaults_fill_only_what_is_absent() -> None:
    row = SimpleRow(
        steps=[
            {
                "template": {
                    "variables": [
                        {"name": "user.plan", "defaultValue": "free"},
                        {"name": "user.name", "defaultValue": "friend"},
                    ]
                }
            }
        ]
    )
    assert with_defaults(row, {"user": {"name": "Ada"}}) == {"user": {"plan": "free", "name": "Ada"}}  # type: ignore[arg-type]


class SimpleRow:
    def __init__(self, steps: list[dict[str, Any]]) -> None:
        self.steps = steps
