"""Which integrations a message goes through: tenant conditions, the primary, priority, subscriber channels."""

from __future__ import annotations

from typing import Any

from activities.conditions import SubscriberFacts, evaluate_filters
from store.models import Integration, Subscriber, SubscriberRecord


def conditions_pass(conditions: list[dict[str, Any]], tenant: dict[str, Any] | None) -> bool:
    """An integration's tenant conditions, evaluated by the same evaluator as step filters and variants
    (Novu's ``ConditionsFilter``): the groups are OR-ed, children combined with the group's ``value``."""
    groups = [
        {
            **group,
            "children": [{"on": "tenant", "operator": "EQUAL", **c} for c in group.get("children") or []],
        }
        for group in conditions
    ]  # integration conditions are about the tenant; an operator left out means EQUAL
    return evaluate_filters(groups, SubscriberFacts(variables={"tenant": tenant or {}})).passed


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


def subscriber_credentials(
    sub: Subscriber | SubscriberRecord, integration: Integration
) -> list[dict[str, Any]]:
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
