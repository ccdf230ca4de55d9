"""Chat through webhooks: Slack, Discord, Microsoft Teams, Mattermost, and a generic signed webhook.

The URL is the subscriber's ``webhookUrl`` credential. Webhook URLs are secrets (they authorize
posting), so they never appear in errors or execution details.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, ClassVar

from activities.providers.base import ChatMessage, ChatProvider, SendResult, deep_merge
from activities.providers.http import HttpAdapter


class WebhookChatProvider(HttpAdapter, ChatProvider):
    """POST a JSON body to the webhook URL; subclasses only shape the body."""

    text_field: ClassVar[str] = "text"

    def body(self, message: ChatMessage) -> dict[str, Any]:
        return {self.text_field: message.content}

    def headers(self, payload: bytes, credentials: dict[str, Any]) -> dict[str, str]:
        return {"content-type": "application/json"}

    async def send(self, message: ChatMessage, credentials: dict[str, Any]) -> SendResult:
        payload = json.dumps(deep_merge(self.body(message), message.extra)).encode()
        response = await self.call(
            "POST", message.webhook_url, content=payload, headers=self.headers(payload, credentials)
        )
        return SendResult(provider_message_id=response.headers.get("x-message-id"))


class SlackProvider(WebhookChatProvider):
    provider_id: ClassVar[str] = "slack"


class DiscordProvider(WebhookChatProvider):
    provider_id: ClassVar[str] = "discord"
    text_field: ClassVar[str] = "content"


class MsTeamsProvider(WebhookChatProvider):
    """Content that is a JSON object (an Adaptive Card message) is posted as is, else as ``text``."""

    provider_id: ClassVar[str] = "msteams"

    def body(self, message: ChatMessage) -> dict[str, Any]:
        try:
            parsed = json.loads(message.content)
        except ValueError:
            parsed = None
        return parsed if isinstance(parsed, dict) else {"text": message.content}


class MattermostProvider(WebhookChatProvider):
    provider_id: ClassVar[str] = "mattermost"


class ChatWebhookProvider(WebhookChatProvider):
    """A generic outbound webhook: ``{content, idempotencyKey}``, signed with HMAC-SHA256 of the body
    (``X-Tidings-Signature``) when the integration has a ``secretKey``."""

    provider_id: ClassVar[str] = "chat-webhook"

    def body(self, message: ChatMessage) -> dict[str, Any]:
        return {"content": message.content, "idempotencyKey": message.idempotency_key}

    def headers(self, payload: bytes, credentials: dict[str, Any]) -> dict[str, str]:
        headers = super().headers(payload, credentials)
        secret = credentials.get("secretKey")
        if secret:
            headers["X-Tidings-Signature"] = hmac.new(
                str(secret).encode(), payload, hashlib.sha256
            ).hexdigest()
        return headers
