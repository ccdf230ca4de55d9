"""One builder for Novu's ``InboxNotificationDto`` (the Inbox's and the v2 subscriber notifications)."""

from __future__ import annotations

from datetime import timedelta

from api.inbox_views import inbox_notification_view
from store.db import utcnow
from store.models import Message, Subscriber, WorkflowDefinition


def row(**fields: object) -> Message:
    now = utcnow()
    base: dict[str, object] = {
        "id": "m1",
        "environment_id": "e1",
        "subscriber_id": "s1",
        "transaction_id": "tx1",
        "channel": "in_app",
        "content": "Hello",
        "template_identifier": "comment",
        "workflow_id": "w1",
        "created_at": now,
        "updated_at": now,
    }
    return Message(**{**base, **fields})


SUB = Subscriber(id="s1", environment_id="e1", subscriber_id="ada", first_name="Ada", locale="en")
DEFINITION = WorkflowDefinition(
    id="w1", environment_id="e1", name="Comment", trigger_identifier="comment:deleted:w1", tags=["social"]
)


def test_a_snooze_that_has_ended_is_no_snooze() -> None:
    later, earlier = utcnow() + timedelta(hours=1), utcnow() - timedelta(minutes=1)
    snoozed = inbox_notification_view(row(snoozed_until=later), SUB)
    assert snoozed["isSnoozed"] is True and snoozed["snoozedUntil"].startswith(str(later.year))
    woken = inbox_notification_view(row(snoozed_until=earlier), SUB)
    assert woken["isSnoozed"] is False and "snoozedUntil" not in woken


def test_seen_read_and_archived_times_come_from_their_columns() -> None:
    first, last = utcnow() - timedelta(days=2), utcnow()
    seen = row(seen=True, first_seen_date=first, last_seen_date=last, read=False, last_read_date=last)
    view = inbox_notification_view(seen, SUB)
    assert view["firstSeenAt"] == inbox_notification_view(row(first_seen_date=first), SUB)["firstSeenAt"]
    assert view["firstSeenAt"] != inbox_notification_view(row(first_seen_date=last), SUB)["firstSeenAt"]
    assert "readAt" not in view and "archivedAt" not in view  # unread: no read time, as Novu's mapper
    assert "archivedAt" in inbox_notification_view(row(archived=True, archived_at=last), SUB)


def test_actions_and_redirects_keep_novus_shape() -> None:
    cta = {
        "type": "redirect",
        "data": {"url": "/inbox", "target": "_blank"},
        "action": {
            "status": "done",
            "result": {"type": "primary"},
            "buttons": [
                {"type": "primary", "content": "Open", "url": "https://x.io/a", "target": "_self"},
                {"type": "secondary", "url": "javascript:alert(1)"},
            ],
        },
    }
    view = inbox_notification_view(row(cta=cta), SUB)
    assert view["primaryAction"] == {
        "label": "Open",
        "isCompleted": True,
        "redirect": {"url": "https://x.io/a", "target": "_self"},
    }
    assert view["secondaryAction"] == {"label": "", "isCompleted": False}  # no text, no unsafe redirect
    assert view["redirect"] == {"url": "/inbox", "target": "_blank"}


def test_the_workflow_is_sent_when_its_definition_exists() -> None:
    view = inbox_notification_view(row(), SUB, DEFINITION)
    assert view["workflow"] == {
        "id": "w1",
        "identifier": "comment",  # as triggered, not the deleted definition's new name
        "name": "Comment",
        "critical": False,
        "tags": ["social"],
        "severity": "none",
    }
    assert "workflow" not in inbox_notification_view(row(), SUB, None)
    assert view["to"] == {"id": "s1", "subscriberId": "ada", "firstName": "Ada", "locale": "en"}
    assert view["body"] == "Hello" and view["severity"] == "none" and view["tags"] == []
