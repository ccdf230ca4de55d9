"""Novu's step filters, evaluated for one subscriber at delivery time.

``filters`` is a list of groups, OR-ed: the step passes if any group passes; no filters (or a group with no
children) passes. Inside a group the children are combined with the group's ``value`` (``AND``/``OR``).
A child looks at ``payload``, ``subscriber``, ``tenant`` or ``actor`` (``field`` is a dotted path), or is one
of ``isOnline``, ``isOnlineInLast`` and ``previousStep``. The expected value is coerced to the actual value's
type, as Novu does. Novu accepts ``ALL_IN, ANY_IN, BETWEEN, NOT_BETWEEN, LIKE, NOT_LIKE`` but never evaluates
them; here they mean: the actual list holds all / any of the expected values; the actual value lies within
(or outside) the inclusive range ``[low, high]``; the actual string matches a SQL ``LIKE`` pattern
(``%`` and ``_``, case-insensitive; a pattern without wildcards matches as a substring).
Webhook filters are not supported and never pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from workflows.paths import MISSING, get_path

_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}


@dataclass
class FilterOutcome:
    """Whether the step passes, and each condition with its own result (recorded in ``raw``)."""

    passed: bool
    conditions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SubscriberFacts:
    """What conditions may look at for one subscriber, besides the template variables."""

    variables: dict[str, Any]  # {"payload", "subscriber", "tenant", "actor"}
    is_online: bool | None = None
    last_online_at: datetime | None = None
    step_messages: dict[str, dict[str, bool]] = field(default_factory=dict)  # step id → {read, seen}
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def coerce(expected: Any, actual: Any) -> Any:
    """The expected value in the actual value's type: ``Number(v)``, ``v === "true"``, ``String(v)``."""
    if actual is MISSING or actual is None or isinstance(expected, list):
        return expected
    if isinstance(actual, bool):
        return expected if isinstance(expected, bool) else str(expected).lower() == "true"
    if _is_number(actual):
        try:
            return float(expected)
        except (TypeError, ValueError):
            return float("nan")
    if isinstance(actual, str):
        if isinstance(expected, bool):
            return "true" if expected else "false"
        return str(expected) if expected is not None else expected
    return expected


def _values(expected: Any) -> list[Any]:
    if isinstance(expected, list):
        return expected
    if isinstance(expected, str):
        return [v.strip() for v in expected.split(",")]
    return [expected]


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) or _is_number(b):
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return bool(a == b)


def _order(op: str, actual: Any, expected: Any) -> bool:
    try:
        if op == "LARGER":
            return bool(actual > expected)
        if op == "SMALLER":
            return bool(actual < expected)
        if op == "LARGER_EQUAL":
            return bool(actual >= expected)
        return bool(actual <= expected)
    except TypeError:
        return False


def _segment_at(text: str, segment: str, start: int) -> int:
    """Where ``segment`` (literal characters and ``_``) first matches ``text`` at or after ``start``; -1 if not.

    A fixed-length pattern: the regex has no quantifier, so the search is O(len(text) × len(segment)).
    """
    if "_" not in segment:
        return text.find(segment, start)
    regex = re.compile("".join("." if c == "_" else re.escape(c) for c in segment), re.DOTALL)
    found = regex.search(text, start)
    return found.start() if found else -1


def _like(actual: Any, pattern: Any) -> bool:
    """SQL ``LIKE`` without backtracking: the pattern is split at ``%``; the first piece must match at the
    start, the last at the end, and the ones between are found left to right (the leftmost match is always
    the best choice), so ``%a%a%a%a%b`` on a long string costs a few linear scans, not exponential time."""
    if not isinstance(actual, str) or pattern is None:
        return False
    text, value = str(pattern).casefold(), actual.casefold()
    if "%" not in text and "_" not in text:
        return text in value
    pieces = text.split("%")
    if len(pieces) == 1:
        return len(value) == len(text) and _segment_at(value, text, 0) == 0
    first, *middle, last = pieces
    if len(first) + len(last) > len(value):
        return False
    if first and _segment_at(value[: len(first)], first, 0) != 0:
        return False
    end = len(value) - len(last)
    if last and _segment_at(value[end:], last, 0) != 0:
        return False
    position = len(first)
    window = value[:end]
    for piece in middle:
        if not piece:
            continue
        found = _segment_at(window, piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def _between(actual: Any, expected: Any) -> bool:
    bounds = _values(expected)
    if len(bounds) != 2 or actual is MISSING or actual is None:
        return False
    low, high = (coerce(b, actual) for b in bounds)
    try:
        return bool(low <= actual <= high)
    except TypeError:
        return False


def compare(operator: str, actual: Any, expected: Any) -> bool:
    """One field condition. ``actual`` is ``MISSING`` when the path does not exist."""
    op = (operator or "EQUAL").upper()
    if op == "IS_DEFINED":
        return actual is not MISSING
    if op in ("ALL_IN", "ANY_IN"):
        have = actual if isinstance(actual, list) else [] if actual in (MISSING, None) else [actual]
        wanted = _values(expected)
        hits = [any(_same(h, w) for h in have) for w in wanted]
        return all(hits) if op == "ALL_IN" else any(hits)
    if op in ("BETWEEN", "NOT_BETWEEN"):
        return _between(actual, expected) is (op == "BETWEEN")
    if op in ("LIKE", "NOT_LIKE"):
        return _like(actual, expected) is (op == "LIKE")
    if op in ("IN", "NOT_IN"):
        if isinstance(expected, list):
            found = actual is not MISSING and any(_same(actual, coerce(e, actual)) for e in expected)
        elif isinstance(actual, list):
            found = any(_same(a, expected) for a in actual)
        elif isinstance(actual, str):
            found = str(expected) in actual
        else:
            found = False
        return found is (op == "IN")
    if actual is MISSING:
        return op == "NOT_EQUAL"
    value = coerce(expected, actual)
    if op == "EQUAL":
        return type(value) is type(actual) and value == actual or _is_number(actual) and value == actual
    if op == "NOT_EQUAL":
        return not (value == actual)
    if op in ("LARGER", "SMALLER", "LARGER_EQUAL", "SMALLER_EQUAL"):
        return _order(op, actual, value)
    return False


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def evaluate_child(child: dict[str, Any], facts: SubscriberFacts) -> bool:
    on = child.get("on")
    if on == "isOnline":
        return bool(facts.is_online) == _truthy(child.get("value"))
    if on == "isOnlineInLast":
        if facts.is_online:
            return True
        if facts.last_online_at is None:
            return False
        try:
            seconds = float(child.get("value") or 0) * _UNITS.get(str(child.get("timeOperator")), 60)
        except (TypeError, ValueError):
            return False
        return facts.now - facts.last_online_at <= timedelta(seconds=seconds)
    if on == "previousStep":
        state = facts.step_messages.get(str(child.get("step") or child.get("stepId") or ""))
        if state is None:
            return False
        kind = str(child.get("stepType") or "")
        if kind in ("read", "seen"):
            return bool(state.get(kind))
        if kind in ("unread", "unseen"):
            return not state.get(kind[2:])
        return False
    if on in ("payload", "subscriber", "tenant", "actor"):
        actual = get_path(facts.variables.get(on) or {}, str(child.get("field") or ""))
        return compare(str(child.get("operator") or "EQUAL"), actual, child.get("value"))
    return False  # "webhook" and unknown sources


def evaluate_filters(filters: list[dict[str, Any]] | None, facts: SubscriberFacts) -> FilterOutcome:
    """Evaluate a step's (or a variant's) filters for one subscriber."""
    if not filters:
        return FilterOutcome(passed=True)
    conditions: list[dict[str, Any]] = []
    any_passed = False
    for group in filters:
        children = group.get("children") if "children" in group else [group] if group.get("on") else []
        results = []
        for child in children or []:
            passed = evaluate_child(child, facts)
            results.append(passed)
            conditions.append({**child, "passed": passed})
        if not results:
            group_passed = True
        elif str(group.get("value") or "AND").upper() == "OR":
            group_passed = any(results)
        else:
            group_passed = all(results)
        if group.get("isNegated"):
            group_passed = not group_passed
        any_passed = any_passed or group_passed
    return FilterOutcome(passed=any_passed, conditions=conditions)


def previous_step_ids(step: Any) -> list[str]:
    """The earlier steps a step's filters and variants refer to (``on: previousStep``)."""
    ids: list[str] = []
    groups = list(step.filters or [])
    for variant in step.variants or []:
        groups.extend(variant.filters)
    for group in groups:
        for child in group.get("children") or [group]:
            if child.get("on") == "previousStep":
                ref = str(child.get("step") or child.get("stepId") or "")
                if ref and ref not in ids:
                    ids.append(ref)
    return ids
