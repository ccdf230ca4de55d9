"""Inbox shapes: what ``@novu/js`` parses (an Inbox notification over REST, a raw message on the socket, the
Inbox's preference items) and the v2 REST ``/v2/subscribers/{id}/notifications`` document.

The v2 document (:func:`subscriber_notification_view`) and the Inbox's (:func:`notification_view`) are both
Novu's ``InboxNotification`` and differ in details (subject falls back to the title, non-text bodies as
JSON, snooze judged by time); they sit side by side here so that one can become the other.
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


def _workflow(msg: Message, definition: WorkflowDefinition | None) -> dict[str, Any]:
    return compact(
        {
            "id": msg.workflow_id,
            "identifier": msg.template_identifier,
            "name": definition.name if definition is not None else msg.template_identifier,
            "critical": definition.critical if definition is not None else False,
            "tags": (definition.tags if definition is not None else None) or [],
            "severity": "none",
        }
    )


def _action(cta: dict[str, Any], button_type: str) -> dict[str, Any] | None:
    action = cta.get("action") or {}
    button = next((b for b in action.get("buttons") or [] if b.get("type") == button_type), None)
    if button is None:
        return None
    result = action.get("result") or {}
    return compact(
        {
            "label": button.get("content"),
            "isCompleted": result.get("type") == button_type and action.get("status") == "done",
            "redirect": _redirect(button.get("url"), button.get("target")),
        }
    )


def notification_view(
    msg: Message, sub: Subscriber, definition: WorkflowDefinition | None = None
) -> dict[str, Any]:
    """Novu's ``InboxNotification``."""
    cta = msg.cta or {}
    data = cta.get("data") or {}
    return compact(
        {
            "id": msg.id,
            "transactionId": msg.transaction_id,
            "subject": msg.subject,
            "body": msg.content if isinstance(msg.content, str) else "",
            "to": _subscriber(sub),
            "isRead": msg.read,
            "isSeen": msg.seen,
            "isArchived": msg.archived,
            "isSnoozed": msg.snoozed_until is not None,
            "snoozedUntil": iso(msg.snoozed_until),
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
            "severity": "none",
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
            "severity": "none",
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
        "workflow": {
            "id": definition.id,
            "identifier": definition.trigger_identifier,
            "name": definition.name,
            "critical": definition.critical,
            "tags": definition.tags or [],
            "severity": "none",
        },
    }


def _v2_action(msg: Message, kind: str) -> dict[str, Any] | None:
    """The primary or secondary action of a v2 notification, from the message's CTA buttons."""
    cta = msg.cta or {}
    action = cta.get("action") or {}
    button = next((b for b in action.get("buttons") or [] if b.get("type") == kind), None)
    if button is None:
        return None
    result = action.get("result") or {}
    view: dict[str, Any] = {
        "label": button.get("content") or "",
        "isCompleted": action.get("status") == "done" and result.get("type") == kind,
    }
    if button.get("url"):
        view["redirect"] = {"url": button["url"]}
    return view


def subscriber_notification_view(
    msg: Message, sub: Subscriber, workflow: WorkflowDefinition | None
) -> dict[str, Any]:
    """Novu's ``InboxNotificationDto`` of a v1 in-app message row."""
    content = msg.content if isinstance(msg.content, str) else json.dumps(msg.content)
    redirect_data = (msg.cta or {}).get("data") or {}
    view: dict[str, Any] = compact(
        {
            "id": msg.id,
            "transactionId": msg.transaction_id,
            "subject": msg.subject or msg.title,
            "body": content,
            "to": compact(
                {
                    "id": sub.id,
                    "subscriberId": sub.subscriber_id,
                    "firstName": sub.first_name,
                    "lastName": sub.last_name,
                    "avatar": sub.avatar,
                }
            ),
            "isRead": msg.read,
            "isSeen": msg.seen,
            "isArchived": msg.archived,
            "isSnoozed": bool(msg.snoozed_until and msg.snoozed_until > utcnow()),
            "createdAt": iso(msg.created_at),
            "readAt": iso(msg.last_read_date) if msg.read else None,
            "firstSeenAt": iso(msg.last_seen_date) if msg.seen else None,
            "avatar": msg.avatar,
            "primaryAction": _v2_action(msg, "primary"),
            "secondaryAction": _v2_action(msg, "secondary"),
            "channelType": "in_app",
            "tags": msg.tags or [],
            "data": msg.data,
            "redirect": {"url": redirect_data["url"]} if redirect_data.get("url") else None,
            "severity": SEVERITY,
        }
    )
    if workflow is not None:
        view["workflow"] = {
            "id": workflow.id,
            "identifier": workflow.trigger_identifier,
            "name": workflow.name,
            "critical": workflow.critical,
            "severity": SEVERITY,
            "tags": workflow.tags or [],
        }
    return view
