"""SMS: ``overrides.sms`` (to, from, content, integrationIdentifier), primary first, then failover."""

from __future__ import annotations

from typing import Any, ClassVar

from activities.providers.base import SmsMessage
from activities.senders.base import Batch, Rendered
from activities.senders.channel import (
    Attempt,
    MissingRecipient,
    ProviderSender,
    channel_overrides,
    idempotency_key,
)
from activities.senders.selection import failover_order
from store.models import Integration
from workflows.details import Detail

SMS_KEYS = frozenset({"to", "from", "content", "customData", "integrationIdentifier"})


class SmsSender(ProviderSender):
    channel: ClassVar[str] = "sms"

    def plan(self, batch: Batch, r: Rendered, integrations: list[Integration], shared: Any) -> list[Attempt]:
        overrides = channel_overrides(batch, "sms")
        if not (overrides.get("to") or r.subscriber.phone):
            raise MissingRecipient(Detail.SUBSCRIBER_NO_CHANNEL_DETAILS, "phone")
        order = failover_order(
            integrations, tenant=batch.context.tenant, identifier=overrides.get("integrationIdentifier")
        )
        attempts = []
        for integration in order:
            o = channel_overrides(batch, "sms", integration.provider_id)
            to = o.get("to") or overrides.get("to") or r.subscriber.phone
            provider_specific = (batch.context.overrides or {}).get(integration.provider_id) or {}
            message = SmsMessage(
                to=str(to),
                content=str(o.get("content") or r.content or ""),
                from_number=o.get("from"),
                idempotency_key=idempotency_key(batch, r.subscriber.id),
                extra={k: v for k, v in provider_specific.items() if k not in SMS_KEYS},
            )
            attempt = self.attempt(integration, message)
            if attempt is not None:
                attempts.append(attempt)
        return attempts

    def row_fields(self, batch: Batch, r: Rendered, attempts: list[Attempt]) -> dict[str, Any]:
        return {"phone": attempts[0].message.to}
