"""Novu-shaped (camelCase) views of rows: what the API returns and what templates see."""

from __future__ import annotations

from typing import Any

from store.db import iso
from store.models import Subscriber, SubscriberRecord


def compact(view: dict[str, Any]) -> dict[str, Any]:
    """Drop null fields, as Novu's documents omit unset ones (the TypeScript SDK rejects nulls)."""
    return {k: v for k, v in view.items() if v is not None}


def subscriber_view(
    sub: Subscriber | SubscriberRecord, *, organization_id: str | None = None
) -> dict[str, Any]:
    return compact(
        {
            "_id": sub.id,
            "_organizationId": organization_id,
            "_environmentId": sub.environment_id,
            "subscriberId": sub.subscriber_id,
            "firstName": sub.first_name,
            "lastName": sub.last_name,
            "email": sub.email,
            "phone": sub.phone,
            "avatar": sub.avatar,
            "locale": sub.locale,
            "timezone": sub.timezone,
            "data": sub.data,
            "channels": sub.channels or [],
            "isOnline": sub.is_online,
            "lastOnlineAt": iso(sub.last_online_at),
            "deleted": sub.deleted,
            "createdAt": iso(sub.created_at),
            "updatedAt": iso(sub.updated_at),
            "__v": 0,
        }
    )
