"""Inbox shapes: what ``@novu/js`` parses (an Inbox notification over REST, a raw message on the socket, the
Inbox's preference items), and the v2 REST ``/v2/subscribers/{id}/notifications`` document.

The Inbox's notifications and the v2 subscriber notifications are one document, Novu's
``InboxNotificationDto``: Novu declares it once (``subscribers-v2/dtos/inbox-notification.dto.ts`` re-exports
the Inbox's) and builds both with one mapper (``inbox/utils/notification-mapper.ts``). So does Tidings:
:func:`inbox_notification_view` serves ``/v1/inbox/notifications`` and ``/v2/subscribers/{id}/notifications``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from api.preference_views import global_preference_view, workflow_preference_view
from api.wire import compact
from store.db import iso, utcnow
from store.models import Message, Subscriber, SubscriberPreference, WorkflowDefinition
from store.preferences import GLOBAL, TEMPLATE
from store.subscriber_notifications import SEVERITY

# Novu's in-app redirect rule: http(s) URLs, app-relative paths, or template placeholders.
_REDIRECT = re.compile(r"^(?:\{\{[^}]*\}\}.*|https?://[^\s/$.?#][^\s{}]*|/(?!/)[^\s{}]*)$")
_TARGETS = ("_self", "_blank", "_parent", "_top", "_unfencedTop")


def _redirect(url: Any, target: Any) -> dict[str, Any] | None:
    if not isinstance(url, str) or not _REDIRECT.match(url):
        return None
    return {"url": url, **({"target": target} if target in _TARGETS else {})}


def _subscriber(sub: Subscriber) -> dict[str, Any]:
    """``to``: Novu's ``InboxSubscriberResponseDto`` plus the locale, time zone and data @novu/js's
    ``Subscriber`` also holds (the browser's own subscriber)."""
    return compact(
        {
            "id": sub.id,
            "subscriberId": sub.subscriber_id,
            "firstName": sub.first_name,
            "lastName": sub.last_name,
            "avatar": sub.avatar,
            "locale": sub.locale,
            "timezone": sub.timezone,
            "data": sub.data,
        }
    )


def workflow_brief(definition: WorkflowDefinition, identifier: str | None = None) -> dict[str, Any]:
    """The workflow a notification, Inbox preference or topic subscription preference names (Novu's
    ``NotificationWorkflowDto``); ``identifier`` overrides the definition's (a message keeps the one it was
    triggered with, while a deleted definition is renamed)."""
    return {
        "id": definition.id,
        "identifier": identifier or definition.trigger_identifier,
        "name": definition.name,
        "critical": definition.critical,
        "tags": definition.tags or [],
        "severity": SEVERITY,
    }


def _workflow(msg: Message, definition: WorkflowDefinition | None) -> dict[str, Any] | None:
    """Sent only when the message's definition exists, as Novu sends it only when the template does."""
    return workflow_brief(definition, msg.template_identifier) if definition is not None else None


def _action(cta: dict[str, Any], button_type: str) -> dict[str, Any] | None:
    """The primary or secondary action, from the message's CTA buttons (``label`` is ``""`` when the button
    has no text: Novu's ``InboxActionDto`` requires one)."""
    action = cta.get("action") or {}
    button = next((b for b in action.get("buttons") or [] if b.get("type") == button_type), None)
    if button is None:
        return None
    result = action.get("result") or {}
    return compact(
        {
            "label": button.get("content") or "",
            "isCompleted": result.get("type") == button_type and action.get("status") == "done",
            "redirect": _redirect(button.get("url"), button.get("target")),
        }
    )


def inbox_notification_view(
    msg: Message, sub: Subscriber, definition: WorkflowDefinition | None = None
) -> dict[str, Any]:
    """Novu's ``InboxNotificationDto`` of an in-app message row.

    A snooze that has ended is no snooze: Novu clears ``snoozedUntil`` when it wakes the notification up,
    Tidings keeps the column and judges it by the clock (as the lists' ``snoozed`` filter does). ``body`` is
    the content, JSON-encoded in the rare case a row holds structured content (the DTO says string).
    """
    cta = msg.cta or {}
    data = cta.get("data") or {}
    snoozed = msg.snoozed_until is not None and msg.snoozed_until > utcnow()
    return compact(
        {
            "id": msg.id,
            "transactionId": msg.transaction_id,
            "subject": msg.subject,
            "body": msg.content if isinstance(msg.content, str) else json.dumps(msg.content),
            "to": _subscriber(sub),
            "isRead": msg.read,
            "isSeen": msg.seen,
            "isArchived": msg.archived,
            "isSnoozed": snoozed,
            "snoozedUntil": iso(msg.snoozed_until) if snoozed else None,
            "createdAt": iso(msg.created_at),
            "readAt": iso(msg.last_read_date) if msg.read else None,
            "firstSeenAt": iso(msg.first_seen_date),
            "archivedAt": iso(msg.archived_at),
            "avatar": msg.avatar,
            "primaryAction": _action(cta, "primary"),
            "secondaryAction": _action(cta, "secondary"),
            "channelType": "in_app",
            "tags": msg.tags or [],
            "redirect": _redirect(data.get("url"), data.get("target")),
            "data": msg.data,
            "workflow": _workflow(msg, definition),
            "severity": SEVERITY,
        }
    )


def socket_message_view(
    msg: Message, sub: Subscriber, definition: WorkflowDefinition | None = None
) -> dict[str, Any]:
    """The message document Novu's socket sends with ``notification_received`` (the client maps it)."""
    return compact(
        {
            "_id": msg.id,
            "transactionId": msg.transaction_id,
            "content": msg.content if isinstance(msg.content, str) else "",
            "read": msg.read,
            "seen": msg.seen,
            "archived": msg.archived,
            "snoozedUntil": iso(msg.snoozed_until),
            "createdAt": iso(msg.created_at),
            "lastReadDate": iso(msg.last_read_date) if msg.read else None,
            "firstSeenDate": iso(msg.first_seen_date),
            "archivedAt": iso(msg.archived_at),
            "channel": "in_app",
            "subscriber": {
                "_id": sub.id,
                "subscriberId": sub.subscriber_id,
                **compact({"firstName": sub.first_name, "lastName": sub.last_name, "avatar": sub.avatar}),
            },
            "subject": msg.subject,
            "avatar": msg.avatar,
            "cta": msg.cta or {"type": "redirect", "data": {}},
            "tags": msg.tags or [],
            "data": msg.data,
            "workflow": _workflow(msg, definition),
            "severity": SEVERITY,
        }
    )


def unread_counts(total: int) -> dict[str, Any]:
    """Novu's unread counts by severity (Tidings has no severities: everything counts as ``none``)."""
    return {"total": total, "severity": {"high": 0, "medium": 0, "low": 0, "none": total}}


def inbox_global_preference_view(row: SubscriberPreference | None) -> dict[str, Any]:
    """The Inbox's global preference item (``level: global``), with the delivery schedule if one is set."""
    pref = global_preference_view(row)["preference"]
    view = {"level": GLOBAL, "enabled": pref["enabled"], "channels": pref["channels"]}
    if row is not None and row.schedule:
        view["schedule"] = row.schedule  # @novu/js reads the delivery schedule from here
    return view


def inbox_workflow_preference_view(
    definition: WorkflowDefinition, row: SubscriberPreference | None
) -> dict[str, Any]:
    """The Inbox's preference item of one workflow (``level: template``)."""
    pref = workflow_preference_view(definition, row)["preference"]
    return {
        "level": TEMPLATE,
        "enabled": pref["enabled"],
        "channels": pref["channels"],
        "workflow": workflow_brief(definition),
    }
