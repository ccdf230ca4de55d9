"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291).

A browser subscription (``PushSubscription.toJSON()``: ``{endpoint, keys: {p256dh, auth}}``) is stored as
one of the subscriber's ``deviceTokens``, as its JSON text. The integration's credentials hold the VAPID key
pair (``vapidPublicKey``, ``vapidPrivateKey``, base64url; ``tidings vapid create`` makes one) and
``subject`` (``mailto:`` or ``https:``). ``ttl``, ``urgency`` and ``topic`` come from the step's
``metadata.webPush`` or the trigger's ``overrides["web-push"]``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

import http_ece
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from activities.providers.base import ProviderError, PushMessage, PushProvider, SendResult, TokenGone
from activities.providers.http import HttpAdapter
from activities.providers.push import each_token

#: What fits in one 4096-byte aes128gcm record after its header (86 bytes) and padding delimiter.
MAX_PAYLOAD_BYTES = 3993
URGENCIES = ("very-low", "low", "normal", "high")
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DEFAULT_TTL = 24 * 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def create_vapid_keys() -> dict[str, str]:
    """A new VAPID key pair as integration credentials (``tidings vapid create``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return {"vapidPublicKey": b64url(public), "vapidPrivateKey": b64url(private)}


def parse_subscription(token: str) -> tuple[str, bytes, bytes]:
    """``(endpoint, p256dh, auth)`` of a stored browser subscription; unusable ones are gone for good."""
    try:
        sub = json.loads(token)
        endpoint = str(sub["endpoint"])
        p256dh, auth = unb64url(sub["keys"]["p256dh"]), unb64url(sub["keys"]["auth"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenGone(token, "not a browser push subscription ({endpoint, keys: {p256dh, auth}})") from exc
    if urlsplit(endpoint).scheme not in ("https", "http") or len(p256dh) != 65 or len(auth) < 16:
        raise TokenGone(token, "not a browser push subscription (bad endpoint or keys)")
    return endpoint, p256dh, auth


class WebPushProvider(HttpAdapter, PushProvider):
    provider_id: ClassVar[str] = "web-push"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._vapid: dict[str, Vapid02] = {}

    def vapid(self, credentials: dict[str, Any]) -> Vapid02:
        private = str(credentials.get("vapidPrivateKey") or "")
        if private not in self._vapid:
            try:
                self._vapid[private] = Vapid02.from_raw(private.encode())
            except Exception as exc:
                raise ProviderError("vapidPrivateKey is not a VAPID private key", permanent=True) from exc
        return self._vapid[private]

    @staticmethod
    def options(extra: dict[str, Any]) -> tuple[int, str, str | None]:
        try:
            ttl = int(extra.get("ttl", DEFAULT_TTL))
        except (TypeError, ValueError) as exc:
            raise ProviderError("web push ttl must be a number of seconds", permanent=True) from exc
        urgency = str(extra.get("urgency", "normal"))
        topic = extra.get("topic")
        if ttl < 0 or urgency not in URGENCIES:
            raise ProviderError(
                f"web push ttl must be ≥ 0 and urgency one of {', '.join(URGENCIES)}", permanent=True
            )
        if topic is not None and not TOPIC.match(str(topic)):
            raise ProviderError(
                "web push topic must be 1-32 characters of the URL-safe base64 alphabet", permanent=True
            )
        return ttl, urgency, None if topic is None else str(topic)

    async def send(self, message: PushMessage, credentials: dict[str, Any]) -> SendResult:
        subject = str(credentials.get("subject") or "")
        if not subject.startswith(("mailto:", "https:")):
            raise ProviderError("subject must be a mailto: or https: URL", permanent=True)
        vapid = self.vapid(credentials)
        extra = {k: v for k, v in message.extra.items() if k not in ("ttl", "urgency", "topic")}
        ttl, urgency, topic = self.options(message.extra)
        payload = json.dumps(
            {"title": message.title, "body": message.content, "data": message.data, **extra},
            separators=(",", ":"),
        ).encode()
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ProviderError(
                f"web push payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES} "
                "(4 KB once encrypted): shorten the title, body or data",
                permanent=True,
            )

        async def one(token: str) -> str | None:
            endpoint, p256dh, auth = parse_subscription(token)
            parts = urlsplit(endpoint)
            claims = {
                "aud": f"{parts.scheme}://{parts.netloc}",
                "exp": int(time.time()) + 12 * 3600,
                "sub": subject,
            }
            ephemeral = ec.generate_private_key(ec.SECP256R1())
            body = http_ece.encrypt(
                payload,
                salt=os.urandom(16),
                private_key=ephemeral,
                dh=p256dh,
                auth_secret=auth,
                version="aes128gcm",
            )
            headers = {
                **vapid.sign(claims),
                "TTL": str(ttl),
                "Urgency": urgency,
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
            }
            if topic:
                headers["Topic"] = topic
            response = await self.call("POST", endpoint, headers=headers, content=body, refine=gone(token))
            return response.headers.get("location") or endpoint

        return await each_token(message.tokens, one)


def gone(token: str) -> Any:
    """404 and 410 from a push service: the browser unsubscribed or the subscription expired."""

    def refine(response: httpx.Response) -> ProviderError | None:
        if response.status_code in (404, 410):
            return TokenGone(token, f"push service answered {response.status_code}")
        if response.status_code == 413:
            return ProviderError("push service refused the payload as too large (413)", permanent=True)
        return None

    return refine
