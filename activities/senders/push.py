"""Push: every active push integration for which the subscriber has device tokens
(``overrides.<providerId>.deviceTokens`` replaces them)."""

from __future__ import annotations

from typing import Any, ClassVar

from activities.providers.base import PushMessage
from activities.senders.base import Batch, Rendered
from activities.senders.channel import Attempt, MissingRecipient, ProviderSender, as_list, idempotency_key
from activities.senders.selection import fanout_targets, subscriber_credentials
from store.models import Integration
from workflows.details import Detail

MISSING_TOKENS = Detail.PUSH_MISSING_DEVICE_TOKENS


class PushSender(ProviderSender):
    channel: ClassVar[str] = "push"
    mode: ClassVar[str] = "fanout"

    def plan(self, batch: Batch, r: Rendered, integrations: list[Integration], shared: Any) -> list[Attempt]:
        attempts = []
        overrides = batch.context.overrides or {}
        for integration in fanout_targets(integrations, tenant=batch.context.tenant):
            specific = dict(overrides.get(integration.provider_id) or {})
            if "deviceTokens" in specific:
                tokens = as_list(specific.pop("deviceTokens"))
            else:
                tokens = [
                    t
                    for c in subscriber_credentials(r.subscriber, integration)
                    for t in as_list(c.get("deviceTokens"))
                ]
            if not tokens:
                continue
            data = r.data or {}
            message = PushMessage(
                tokens=list(dict.fromkeys(tokens)),
                title=str(r.title or r.subject or ""),
                content=str(r.content or ""),
                data=dict(data) if isinstance(data, dict) else {},
                idempotency_key=idempotency_key(batch, r.subscriber.id),
                extra=specific,
            )
            attempt = self.attempt(integration, message)
            if attempt is not None:
                attempts.append(attempt)
        if not attempts and integrations:
            raise MissingRecipient(MISSING_TOKENS, "deviceTokens")
        return attempts

    def row_fields(self, batch: Batch, r: Rendered, attempts: list[Attempt]) -> dict[str, Any]:
        return {"device_tokens": [t for a in attempts for t in a.message.tokens]}
