"""Push: every active push integration for which the subscriber has device tokens
(``overrides.<providerId>.deviceTokens`` replaces them)."""

from __future__ import annotations

from typing import Any, ClassVar

from activities.providers.base import ProviderError, PushMessage, SendResult
from activities.senders.base import Batch, Rendered
from activities.senders.channel import Attempt, MissingRecipient, ProviderSender, as_list, idempotency_key
from activities.senders.selection import fanout_targets, subscriber_credentials
from store.channel_credentials import remove_device_tokens
from store.models import Integration
from workflows.details import Detail

MISSING_TOKENS = Detail.PUSH_MISSING_DEVICE_TOKENS


class PushSender(ProviderSender):
    channel: ClassVar[str] = "push"
    mode: ClassVar[str] = "fanout"

    def plan(self, batch: Batch, r: Rendered, integrations: list[Integration], shared: Any) -> list[Attempt]:
        attempts = []
        overrides = batch.context.overrides or {}
        step_metadata = batch.request.step.metadata or {}
        for integration in fanout_targets(integrations, tenant=batch.context.tenant):
            specific = dict(overrides.get(integration.provider_id) or {})
            if integration.provider_id == "web-push":
                # ttl / urgency / topic set on the step; the trigger's overrides win.
                specific = {**dict(step_metadata.get("webPush") or {}), **specific}
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

    async def after_send(
        self,
        batch: Batch,
        r: Rendered,
        message_id: str,
        attempt: Attempt,
        outcome: SendResult | ProviderError,
    ) -> None:
        """Tokens the provider says are gone are removed from the subscriber, so the next send skips them."""
        if not outcome.gone_tokens:
            return
        provider_id = attempt.integration.provider_id
        async with batch.db.session() as session:
            removed = await remove_device_tokens(
                session=session,
                subscriber_row_id=r.subscriber.id,
                provider_id=provider_id,
                tokens=outcome.gone_tokens,
            )
        if removed:
            batch.detail(
                r.subscriber.id,
                "Device token removed",
                "Warning",
                message_id=message_id,
                raw={
                    "providerId": provider_id,
                    "removed": len(removed),
                    "reason": "provider reported it gone",
                },
            )
