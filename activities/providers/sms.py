"""SMS: Twilio, Vonage (``nexmo``), Plivo and a generic SMS webhook."""

from __future__ import annotations

from typing import Any, ClassVar

from activities.providers.base import ProviderError, SendResult, SmsMessage, SmsProvider, deep_merge
from activities.providers.http import HttpAdapter, json_or_empty
from tidings.outbound import plain


class TwilioProvider(HttpAdapter, SmsProvider):
    """``POST /2010-04-01/Accounts/{accountSid}/Messages.json`` (form, basic auth sid:token)."""

    provider_id: ClassVar[str] = "twilio"
    default_base_url: ClassVar[str] = "https://api.twilio.com"

    async def send(self, message: SmsMessage, credentials: dict[str, Any]) -> SendResult:
        sid = credentials.get("accountSid", "")
        form = {
            "To": message.to,
            "From": message.from_number or credentials.get("from", ""),
            "Body": message.content,
        }
        response = await self.call(
            "POST",
            f"{self.base_url(credentials)}/2010-04-01/Accounts/{sid}/Messages.json",
            auth=(sid, credentials.get("token", "")),
            data={**form, **{k: str(v) for k, v in message.extra.items()}},
        )
        return SendResult(provider_message_id=json_or_empty(response).get("sid"))


class VonageProvider(HttpAdapter, SmsProvider):
    """Vonage's SMS API ``POST /sms/json``; errors arrive as a 200 with a non-zero message status."""

    provider_id: ClassVar[str] = "nexmo"
    default_base_url: ClassVar[str] = "https://rest.nexmo.com"
    #: Vonage statuses that are worth retrying: throttled, internal error, communication failed.
    TRANSIENT = frozenset({"1", "5", "13"})

    async def send(self, message: SmsMessage, credentials: dict[str, Any]) -> SendResult:
        form = {
            "api_key": credentials.get("apiKey", ""),
            "api_secret": credentials.get("secretKey", ""),
            "from": message.from_number or credentials.get("from", ""),
            "to": message.to.lstrip("+"),
            "text": message.content,
        }
        if message.idempotency_key:
            form["client-ref"] = message.idempotency_key[:100]
        response = await self.call(
            "POST",
            f"{self.base_url(credentials)}/sms/json",
            data={**form, **{k: str(v) for k, v in message.extra.items()}},
        )
        first = (json_or_empty(response).get("messages") or [{}])[0]
        status = str(first.get("status", "0"))
        if status != "0":
            raise ProviderError(
                f"Vonage status {plain(status, '?')}: {plain(first.get('error-text'))}",
                permanent=status not in self.TRANSIENT,
            )
        return SendResult(provider_message_id=first.get("message-id"))


class PlivoProvider(HttpAdapter, SmsProvider):
    """``POST /v1/Account/{authId}/Message/`` (JSON, basic auth id:token)."""

    provider_id: ClassVar[str] = "plivo"
    default_base_url: ClassVar[str] = "https://api.plivo.com"

    async def send(self, message: SmsMessage, credentials: dict[str, Any]) -> SendResult:
        auth_id = credentials.get("accountSid", "")
        body = {
            "src": message.from_number or credentials.get("from", ""),
            "dst": message.to,
            "text": message.content,
        }
        response = await self.call(
            "POST",
            f"{self.base_url(credentials)}/v1/Account/{auth_id}/Message/",
            auth=(auth_id, credentials.get("token", "")),
            json=deep_merge(body, message.extra),
        )
        ids = json_or_empty(response).get("message_uuid") or [None]
        return SendResult(provider_message_id=ids[0])


#: Headers a tenant may not set through ``apiKeyRequestHeader``/``secretKeyRequestHeader``: they decide
#: where and how the request travels, not what it says.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "proxy-authorization",
    }
)


class GenericSmsProvider(HttpAdapter, SmsProvider):
    """POSTs ``{to, content, from, idempotencyKey}`` to the integration's ``baseUrl`` with the API key and
    secret in the configured headers; ``idPath`` (dotted) picks the message id from the answer.

    The ``Idempotency-Key`` header is sent, but whether the receiver de-duplicates is up to it.
    """

    provider_id: ClassVar[str] = "generic-sms"

    async def send(self, message: SmsMessage, credentials: dict[str, Any]) -> SendResult:
        headers: dict[str, str] = {}
        for name_key, value_key in (
            ("apiKeyRequestHeader", "apiKey"),
            ("secretKeyRequestHeader", "secretKey"),
        ):
            name = str(credentials.get(name_key) or "")
            if name and credentials.get(value_key):
                if name.lower() in RESERVED_HEADERS:
                    raise ProviderError(f"{name_key} may not be {name}", permanent=True)
                headers[name] = str(credentials[value_key])
        if message.idempotency_key:
            headers["Idempotency-Key"] = message.idempotency_key
        body = {
            "to": message.to,
            "content": message.content,
            "from": message.from_number or credentials.get("from"),
            "idempotencyKey": message.idempotency_key,
        }
        response = await self.call(
            "POST", self.base_url(credentials), headers=headers, json=deep_merge(body, message.extra)
        )
        found: Any = json_or_empty(response)
        for part in str(credentials.get("idPath") or "id").split("."):
            found = found.get(part) if isinstance(found, dict) else None
        return SendResult(provider_message_id=str(found) if found is not None else None)
