"""Amazon SES (v2 API, ``POST /v2/email/outbound-emails``) signed with AWS Signature Version 4."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

from activities.providers.base import EmailMessage, EmailProvider, SendResult, deep_merge
from activities.providers.http import HttpAdapter, json_or_empty
from activities.providers.smtp import mime_message


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_headers(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    now: datetime,
) -> dict[str, str]:
    """``headers`` plus ``host``, ``x-amz-date`` and the SigV4 ``Authorization`` header.

    Paths are encoded once per segment (SES paths contain only unreserved characters).
    """
    parts = urlsplit(url)
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    names = sorted(signed)
    pairs = sorted(tuple(unquote(x) for x in (p + "=").split("=")[:2]) for p in parts.query.split("&") if p)
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
    canonical = "\n".join(
        [
            method.upper(),
            quote(parts.path or "/", safe="/-_.~"),
            query,
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        **headers,
        "x-amz-date": amz_date,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}",
    }


class SesProvider(HttpAdapter, EmailProvider):
    """Raw MIME content (so attachments, cc and custom headers pass through unchanged)."""

    provider_id: ClassVar[str] = "ses"

    def base_url(self, credentials: dict[str, Any]) -> str:
        region = credentials.get("region") or "us-east-1"
        return super().base_url(credentials) or f"https://email.{region}.amazonaws.com"

    async def send(self, message: EmailMessage, credentials: dict[str, Any]) -> SendResult:
        mime = mime_message(message, credentials)
        body: dict[str, Any] = {
            "FromEmailAddress": str(mime["From"]),
            "Destination": {
                "ToAddresses": message.to,
                **({"CcAddresses": message.cc} if message.cc else {}),
                **({"BccAddresses": message.bcc} if message.bcc else {}),
            },
            "Content": {"Raw": {"Data": base64.b64encode(mime.as_bytes()).decode()}},
        }
        payload = json.dumps(deep_merge(body, message.extra)).encode()
        url = f"{self.base_url(credentials)}/v2/email/outbound-emails"
        headers = sigv4_headers(
            method="POST",
            url=url,
            headers={"content-type": "application/json"},
            body=payload,
            access_key=credentials.get("apiKey", ""),
            secret_key=credentials.get("secretKey", ""),
            region=credentials.get("region") or "us-east-1",
            service="ses",
            now=datetime.now(UTC),
        )
        response = await self.call("POST", url, headers=headers, content=payload)
        return SendResult(provider_message_id=json_or_empty(response).get("MessageId"))
