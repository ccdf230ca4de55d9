"""Chat: every active chat integration for which the subscriber has a ``webhookUrl``."""

from __future__ import annotations

from typing import Any, ClassVar

from activities.providers.base import ChatMessage
from activities.senders.base import Batch, Rendered
from activities.senders.channel import Attempt, MissingRecipient, ProviderSender, idempotency_key
from activities.senders.selection import fanout_targets, subscriber_credentials
from store.models import Integration
from workflows.details import Detail


class ChatSender(ProviderSender):
    channel: ClassVar[str] = "chat"
    mode: ClassVar[str] = "fanout"

    def plan(self, batch: Batch, r: Rendered, integrations: list[Integration], shared: Any) -> list[Attempt]:
        attempts = []
        overrides = batch.context.overrides or {}
        for integration in fanout_targets(integrations, tenant=batch.context.tenant):
            urls = [
                c["webhookUrl"]
                for c in subscriber_credentials(r.subscriber, integration)
                if c.get("webhookUrl")
            ]
            if not urls and integration.provider_id == "chat-webhook":
                url = self.credentials(integration).get("webhookUrl")
                urls = [url] if url else []
            for url in dict.fromkeys(urls):
                message = ChatMessage(
                    webhook_url=str(url),
                    content=str(r.content or ""),
                    idempotency_key=idempotency_key(batch, r.subscriber.id),
                    extra=dict(overrides.get(integration.provider_id) or {}),
                )
                attempt = self.attempt(integration, message)
                if attempt is not None:
                    attempts.append(attempt)
        if not attempts and integrations:
            raise MissingRecipient(Detail.SUBSCRIBER_NO_ACTIVE_CHANNEL, "webhookUrl")
        return attempts
