"""What every channel sender gets: the batch of rendered messages for one step and a cohort."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from store.db import Database, utcnow
from store.models import Subscriber, SubscriberRecord
from tidings.webhook_payloads import message_data
from workflows.details import Detail, DetailStatus
from workflows.models import DeliverInput, DeliverResult, DeliveryContext


@dataclass
class Rendered:
    """One subscriber's step, rendered once by delivery (:func:`activities.sandbox_jobs.render_step`).

    Senders use these fields as they are; the email sender only wraps ``content`` in the layout, which it
    renders with the same context inputs (payload, the enriched ``Batch.actor``, earlier steps' results).
    """

    subscriber: Subscriber | SubscriberRecord
    content: Any
    subject: str | None = None
    title: str | None = None
    cta: Any = None
    avatar: str | None = None
    data: Any = None
    preheader: str | None = None
    sender_name: str | None = None


@dataclass
class Batch:
    """A step's delivery for a cohort, after preferences, conditions and rendering."""

    db: Database
    context: DeliveryContext
    request: DeliverInput
    rendered: list[Rendered]
    notifications: dict[str, str]
    result: DeliverResult
    detail: Callable[..., None]
    #: The actor as the step was rendered with (enriched from its subscriber row): layouts see the same.
    actor: dict[str, Any] | None = None
    #: Translations: the locale a subscriber without a text of their own gets (``TIDINGS_DEFAULT_LOCALE``).
    default_locale: str = "en_US"

    def message_event(
        self, r: Rendered, message_id: str | None, provider_id: str | None, **extra: Any
    ) -> dict[str, Any]:
        """The ``data`` of a ``message.*`` webhook event for ``r``'s message."""
        ctx, step = self.context, self.request.step
        return message_data(
            message_id=message_id,
            transaction_id=ctx.transaction_id,
            subscriber_id=r.subscriber.subscriber_id,
            workflow=ctx.workflow.identifier,
            step_id=step.step_id,
            channel=step.type,
            provider_id=provider_id,
            **extra,
        )

    def message_row(self, r: Rendered, **extra: Any) -> dict[str, Any]:
        """The message row recorded for ``r`` (keyed by transaction, subscriber and step)."""
        return {
            **self._shared_row,
            "notification_id": self.notifications.get(r.subscriber.id),
            "subscriber_id": r.subscriber.id,
            "content": r.content,
            "subject": r.subject,
            "title": r.title,
            "cta": r.cta or self._shared_row["cta"],
            "avatar": r.avatar,
            "data": r.data,
            **extra,
        }

    @cached_property
    def _shared_row(self) -> dict[str, Any]:
        """What every message row of the batch shares, built once: the rows then hold the *same* payload
        object, which the bulk insert encodes once instead of once per row (``store.db._bound``)."""
        ctx, step = self.context, self.request.step
        now = utcnow()
        return {
            "environment_id": ctx.environment_id,
            "workflow_id": ctx.workflow.id,
            "template_identifier": ctx.workflow.identifier,
            "step_id": step.step_id,
            "transaction_id": ctx.transaction_id,
            "channel": step.type,
            "cta": {"type": "redirect", "data": {}},
            "actor": step.actor,
            "tags": ctx.workflow.tags,
            "payload": {k: v for k, v in ctx.payload.items() if k != "attachments"},
            "overrides": ctx.overrides,
            "feed_id": step.feed_id,
            "created_at": now,
            "updated_at": now,
        }


class Sender:
    """Delivers a batch on one channel; appends to ``batch.result`` and writes details via ``batch.detail``."""

    async def deliver(self, batch: Batch) -> None:
        for r in batch.rendered:
            batch.result.failed.append(r.subscriber.id)
            batch.detail(r.subscriber.id, Detail.SUBSCRIBER_NO_ACTIVE_INTEGRATION, DetailStatus.FAILED)
