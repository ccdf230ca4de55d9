"""Email over HTTP APIs: SendGrid, Mailgun, Postmark and Resend."""

from __future__ import annotations

import base64
from typing import Any, ClassVar

from activities.providers.base import EmailMessage, EmailProvider, ProviderError, SendResult, deep_merge
from activities.providers.http import HttpAdapter, json_or_empty, sender


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class SendGridProvider(HttpAdapter, EmailProvider):
    """``POST /v3/mail/send``. SendGrid has no idempotency key; the key travels as a custom arg."""

    provider_id: ClassVar[str] = "sendgrid"
    default_base_url: ClassVar[str] = "https://api.sendgrid.com"

    async def send(self, message: EmailMessage, credentials: dict[str, Any]) -> SendResult:
        personalization: dict[str, Any] = {"to": [{"email": a} for a in message.to]}
        if message.cc:
            personalization["cc"] = [{"email": a} for a in message.cc]
        if message.bcc:
            personalization["bcc"] = [{"email": a} for a in message.bcc]
        content = [{"type": "text/html", "value": message.html}]
        if message.text:
            content.insert(0, {"type": "text/plain", "value": message.text})
        body: dict[str, Any] = {
            "personalizations": [personalization],
            "from": {
                "email": message.from_address or credentials.get("from"),
                **({"name": n} if (n := message.sender_name or credentials.get("senderName")) else {}),
            },
            "subject": message.subject,
            "content": content,
        }
        if message.reply_to:
            body["reply_to"] = {"email": message.reply_to}
        if message.headers:
            body["headers"] = message.headers
        if message.idempotency_key:
            body["custom_args"] = {"idempotencyKey": message.idempotency_key}
        if credentials.get("ipPoolName"):
            body["ip_pool_name"] = credentials["ipPoolName"]
        if message.attachments:
            body["attachments"] = [
                {"content": _b64(a.content), "filename": a.name, "type": a.mime, "disposition": "attachment"}
                for a in message.attachments
            ]
        response = await self.call(
            "POST",
            f"{self.base_url(credentials)}/v3/mail/send",
            headers={"Authorization": f"Bearer {credentials.get('apiKey', '')}"},
            json=deep_merge(body, message.extra),
        )
        return SendResult(provider_message_id=response.headers.get("x-message-id"))


class MailgunProvider(HttpAdapter, EmailProvider):
    """``POST /v3/{domain}/messages`` (form data, basic auth ``api:<apiKey>``)."""

    provider_id: ClassVar[str] = "mailgun"
    default_base_url: ClassVar[str] = "https://api.mailgun.net"

    async def send(self, message: EmailMessage, credentials: dict[str, Any]) -> SendResult:
        data: list[tuple[str, str]] = [
            (
                "from",
                sender(
                    message.from_address or credentials.get("from"),
                    message.sender_name or credentials.get("senderName"),
                ),
            ),
            *[("to", a) for a in message.to],
            *[("cc", a) for a in message.cc],
            *[("bcc", a) for a in message.bcc],
            ("subject", message.subject),
            ("html", message.html),
        ]
        if message.text:
            data.append(("text", message.text))
        if message.reply_to:
            data.append(("h:Reply-To", message.reply_to))
        for name, value in message.headers.items():
            data.append((f"h:{name}", value))
        if message.idempotency_key:
            data.append(("v:idempotency-key", message.idempotency_key))
        data.extend((k, str(v)) for k, v in message.extra.items())
        fields: dict[str, list[str]] = {}
        for key, value in data:
            fields.setdefault(key, []).append(value)
        files = [("attachment", (a.name, a.content, a.mime)) for a in message.attachments]
        response = await self.call(
            "POST",
            f"{self.base_url(credentials)}/v3/{credentials.get('domain', '')}/messages",
            auth=(credentials.get("user") or "api", credentials.get("apiKey", "")),
            data=fields,
            files=files or None,
        )
        return SendResult(provider_message_id=json_or_empty(response).get("id"))


class PostmarkProvider(HttpAdapter, EmailProvider):
    """``POST /email`` with ``X-Postmark-Server-Token``; the key travels as message metadata."""

    provider_id: ClassVar[str] = "postmark"
    default_base_url: ClassVar[str] = "https://api.postmarkapp.com"

    async def send(self, message: EmailMessage, credentials: dict[str, Any]) -> SendResult:
        body: dict[str, Any] = {
            "From": sender(
                message.from_address or credentials.get("from"),
                message.sender_name or credentials.get("senderName"),
            ),
            "To": ", ".join(message.to),
            "Subject": message.subject,
            "HtmlBody": message.html,
        }
        if message.text:
            body["TextBody"] = message.text
        if message.cc:
            body["Cc"] = ", ".join(message.cc)
        if message.bcc:
            body["Bcc"] = ", ".join(message.bcc)
        if message.reply_to:
            body["ReplyTo"] = message.reply_to
        if message.headers:
            body["Headers"] = [{"Name": k, "Value": v} for k, v in message.headers.items()]
        if message.idempotency_key:
            body["Metadata"] = {"idempotencyKey": message.idempotency_key}
        if message.attachments:
            body["Attachments"] = [
                {"Name": a.name, "Content": _b64(a.content), "ContentType": a.mime}
                for a in message.attachments
            ]
        response = await self.call(
            "POST",
            f"{self.base_url(credentials)}/email",
            headers={"X-Postmark-Server-Token": credentials.get("apiKey", ""), "Accept": "application/json"},
            json=deep_merge(body, message.extra),
        )
        return SendResult(provider_message_id=json_or_empty(response).get("MessageID"))


class ResendProvider(HttpAdapter, EmailProvider):
    """``POST /emails`` with an ``Idempotency-Key`` header, which Resend de-duplicates for 24 hours."""

    provider_id: ClassVar[str] = "resend"
    default_base_url: ClassVar[str] = "https://api.resend.com"
    idempotent: ClassVar[bool] = True

    async def send(self, message: EmailMessage, credentials: dict[str, Any]) -> SendResult:
        body: dict[str, Any] = {
            "from": sender(
                message.from_address or credentials.get("from"),
                message.sender_name or credentials.get("senderName"),
            ),
            "to": message.to,
            "subject": message.subject,
            "html": message.html,
        }
        if message.text:
            body["text"] = message.text
        if message.cc:
            body["cc"] = message.cc
        if message.bcc:
            body["bcc"] = message.bcc
        if message.reply_to:
            body["reply_to"] = message.reply_to
        if message.headers:
            body["headers"] = message.headers
        if message.attachments:
            body["attachments"] = [
                {"filename": a.name, "content": _b64(a.content), "content_type": a.mime}
                for a in message.attachments
            ]
        headers = {"Authorization": f"Bearer {credentials.get('apiKey', '')}"}
        if message.idempotency_key:
            headers["Idempotency-Key"] = message.idempotency_key
        try:
            response = await self.call(
                "POST",
                f"{self.base_url(credentials)}/emails",
                headers=headers,
                json=deep_merge(body, message.extra),
            )
        except ProviderError as exc:
            if exc.status != 409:
                raise
            raise resend_conflict(exc) from exc
        return SendResult(provider_message_id=json_or_empty(response).get("id"))


def resend_conflict(exc: ProviderError) -> ProviderError:
    """Resend's two idempotency 409s. ``invalid_idempotent_request`` (the key was used with another
    payload) is a real error: retrying cannot help and another provider would send a second copy.
    Any other 409 (``concurrent_idempotent_requests``: the first request is still in progress) means
    "ask again later with the same key"."""
    if "invalid_idempotent_request" in str(exc):
        return ProviderError(
            f"{exc} (idempotency key reused with another payload)", permanent=True, status=409
        )
    return ProviderError(str(exc), permanent=False, status=409, in_flight=True)
