"""Which integrations a message goes through: tenant conditions, the primary, priority, subscriber channels."""

from __future__ import annotations

from typing import Any

from store.models import Integration, Subscriber


def _lookup(source: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(source, dict) or part not in source:
            return None
        source = source[part]
    return source


def _coerce(expected: Any, actual: Any) -> Any:
    """Novu coerces the expected value to the actual value's type before comparing."""
    if isinstance(actual, bool):
        return str(expected).lower() == "true"
    if isinstance(actual, int | float):
        try:
            return float(expected)
        except (TypeError, ValueError):
            return expected
    return str(expected) if expected is not None else expected


def _child_passes(child: dict[str, Any], variables: dict[str, Any]) -> bool:
    actual = _lookup(variables, f"{child.get('on', 'tenant')}.{child.get('field', '')}")
    op = str(child.get("operator", "EQUAL")).upper()
    if op == "IS_DEFINED":
        return actual is not None
    if actual is None:
        return op in ("NOT_EQUAL", "NOT_IN")
    expected = _coerce(child.get("value"), actual)
    try:
        return {
            "EQUAL": lambda: actual == expected,
            "NOT_EQUAL": lambda: actual != expected,
            "LARGER": lambda: actual > expected,
            "SMALLER": lambda: actual < expected,
            "LARGER_EQUAL": lambda: actual >= expected,
            "SMALLER_EQUAL": lambda: actual <= expected,
            "IN": lambda: expected in actual,
            "NOT_IN": lambda: expected not in actual,
        }.get(op, lambda: False)()
    except TypeError:
        return False


def conditions_pass(conditions: list[dict[str, Any]], tenant: dict[str, Any] | None) -> bool:
    """Novu's filter shape (``[{value: AND|OR, children:[{on:"tenant", field, operator, value}]}]``):
    the filters are OR-ed, children combined with the group's ``value``."""
    if not conditions:
        return True
    variables = {"tenant": tenant or {}}
    for group in conditions:
        children = list(group.get("children") or [])
        if not children:
            return True
        results = [_child_passes(c, variables) for c in children]
        passed = any(results) if str(group.get("value", "AND")).upper() == "OR" else all(results)
        if passed != bool(group.get("isNegated", False)):
            return True
    return False


def failover_order(
    integrations: list[Integration], *, tenant: dict[str, Any] | None, identifier: str | None
) -> list[Integration]:
    """Email/SMS: an explicit ``integrationIdentifier`` alone; else the integrations whose tenant
    conditions match, then the unconditional ones: primary first, then by priority (highest first)."""
    if identifier:
        return [i for i in integrations if i.identifier == identifier]
    matched = [i for i in integrations if i.conditions and tenant and conditions_pass(i.conditions, tenant)]
    plain = [i for i in integrations if not i.conditions]
    plain.sort(key=lambda i: (not i.primary, -i.priority, i.created_at))
    return matched + plain


def subscriber_credentials(sub: Subscriber, integration: Integration) -> list[dict[str, Any]]:
    """The subscriber's channel credentials that belong to ``integration`` (Novu's ``channels`` entries)."""
    found = []
    for entry in sub.channels or []:
        if entry.get("providerId") != integration.provider_id:
            continue
        if entry.get("_integrationId") not in (None, integration.id):
            continue
        if entry.get("integrationIdentifier") not in (None, integration.identifier):
            continue
        found.append(dict(entry.get("credentials") or {}))
    return found


def fanout_targets(integrations: list[Integration], *, tenant: dict[str, Any] | None) -> list[Integration]:
    """Chat/push: every active integration whose tenant conditions (if any) pass."""
    return [i for i in integrations if not i.conditions or (tenant and conditions_pass(i.conditions, tenant))]
