"""Novu-shaped (camelCase) views of rows: what the API returns and what templates see."""

from __future__ import annotations

from typing import Any

from store.db import iso
from store.models import Message, Subscriber


def compact(view: dict[str, Any]) -> dict[str, Any]:
    """Drop null fields, as Novu's documents omit unset ones (the TypeScript SDK rejects nulls)."""
    return {k: v for k, v in view.items() if v is not None}


def subscriber_view(sub: Subscriber, *, organization_id: str | None = None) -> dict[str, Any]:
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


def message_view(msg: Message, *, organization_id: str | None = None) -> dict[str, Any]:
    return compact(
        {
            "_id": msg.id,
            "_templateId": msg.workflow_id,
            "_environmentId": msg.environment_id,
            "_messageTemplateId": msg.step_id,
            "_organizationId": organization_id,
            "_notificationId": msg.notification_id,
            "_subscriberId": msg.subscriber_id,
            "_jobId": f"{msg.transaction_id}:{msg.step_id}",
            "_feedId": msg.feed_id,
            "templateIdentifier": msg.template_identifier,
            "transactionId": msg.transaction_id,
            "channel": msg.channel,
            "providerId": msg.provider_id,
            "content": msg.content,
            "subject": msg.subject,
            "title": msg.title,
            "seen": msg.seen,
            "read": msg.read,
            "archived": msg.archived,
            "deleted": msg.deleted,
            "lastSeenDate": iso(msg.last_seen_date),
            "lastReadDate": iso(msg.last_read_date),
            "cta": msg.cta or {"type": "redirect", "data": {}},
            "actor": msg.actor,
            "_actorId": msg.actor_subscriber_id,
            "avatar": msg.avatar,
            "data": msg.data,
            "tags": msg.tags or [],
            "payload": msg.payload or {},
            "overrides": msg.overrides or {},
            "status": msg.status,
            "errorText": msg.error_text,
            "email": msg.email,
            "phone": msg.phone,
            "deviceTokens": msg.device_tokens,
            "directWebhookUrl": msg.direct_webhook_url,
            "createdAt": iso(msg.created_at),
            "updatedAt": iso(msg.updated_at),
        }
    )
