"""Push: FCM HTTP v1, APNs (token auth over HTTP/2), Expo and OneSignal, to the subscriber's tokens."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import httpx
import jwt
from google.auth import jwt as google_jwt
from google.auth.crypt import RSASigner

from activities.providers.base import (
    ProviderError,
    PushMessage,
    PushProvider,
    SendResult,
    TokenGone,
    deep_merge,
)
from activities.providers.http import HttpAdapter, json_or_empty
from tidings.outbound import plain

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


async def each_token(tokens: list[str], send_one: Callable[[str], Awaitable[str | None]]) -> SendResult:
    """Send per device token. Any success is a success; otherwise the error is transient if any was.

    Tokens the provider reports gone are collected either way, so the sender can remove them.
    """
    ids: list[str | None] = []
    errors: list[ProviderError] = []
    gone: list[str] = []
    for token in tokens:
        try:
            ids.append(await send_one(token))
        except ProviderError as exc:
            errors.append(exc)
            gone += exc.gone_tokens
    if not ids:
        transient = [e for e in errors if not e.permanent]
        first = (transient or errors)[0] if errors else ProviderError("no device tokens", permanent=True)
        first.gone_tokens = gone
        raise first
    return SendResult(
        provider_message_id=ids[0], raw={"sent": len(ids), "failed": len(errors)}, gone_tokens=gone
    )


def fcm_gone(token: str) -> Callable[[httpx.Response], ProviderError | None]:
    """FCM v1: ``UNREGISTERED`` (404), or ``INVALID_ARGUMENT`` (400) about the registration token."""

    def refine(response: httpx.Response) -> ProviderError | None:
        error = json_or_empty(response).get("error") if response.content else None
        if not isinstance(error, dict):
            return None
        codes = {str(d.get("errorCode")) for d in error.get("details") or [] if isinstance(d, dict)}
        message = str(error.get("message", ""))
        if "UNREGISTERED" in codes:
            return TokenGone(token, "FCM UNREGISTERED")
        if ("INVALID_ARGUMENT" in codes or error.get("status") == "INVALID_ARGUMENT") and (
            "registration token" in message.lower()
        ):
            return TokenGone(token, "FCM INVALID_ARGUMENT (registration token)")
        return None

    return refine


def apns_gone(token: str) -> Callable[[httpx.Response], ProviderError | None]:
    """APNs: 410 ``Unregistered``, or 400 ``BadDeviceToken``."""

    def refine(response: httpx.Response) -> ProviderError | None:
        reason = str(json_or_empty(response).get("reason", "")) if response.content else ""
        if response.status_code == 410 or reason in ("Unregistered", "BadDeviceToken"):
            return TokenGone(token, f"APNs {response.status_code} {reason}".strip())
        return None

    return refine


def string_data(data: dict[str, Any]) -> dict[str, str]:
    """FCM data values must be strings."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


class FcmProvider(HttpAdapter, PushProvider):
    """A service-account JWT grant (signed by google-auth) is exchanged for an OAuth token at ``token_uri``,
    then ``POST /v1/projects/{project}/messages:send`` once per token."""

    provider_id: ClassVar[str] = "fcm"
    default_base_url: ClassVar[str] = "https://fcm.googleapis.com"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tokens: dict[str, tuple[str, float]] = {}

    async def access_token(self, account: dict[str, Any]) -> str:
        email = account.get("client_email", "")
        cached = self._tokens.get(email)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        now = int(time.time())
        token_uri = account.get("token_uri") or "https://oauth2.googleapis.com/token"
        try:
            # google-auth reads the key file (private_key, private_key_id) and signs Google's grant;
            # the exchange itself goes through this adapter's HTTP client like every provider call.
            signer = RSASigner.from_service_account_info(account)
            assertion = google_jwt.encode(
                signer, {"iss": email, "scope": FCM_SCOPE, "aud": token_uri, "iat": now, "exp": now + 3600}
            ).decode()
        except (ValueError, TypeError, KeyError) as exc:
            raise ProviderError("invalid service account private key", permanent=True) from exc
        response = await self.call(
            "POST",
            token_uri,
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        )
        answer = json_or_empty(response)
        access = str(answer.get("access_token", ""))
        self._tokens[email] = (access, time.monotonic() + int(answer.get("expires_in", 3600)) - 60)
        return access

    async def send(self, message: PushMessage, credentials: dict[str, Any]) -> SendResult:
        raw = credentials.get("serviceAccount") or "{}"
        try:
            account = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except ValueError as exc:
            raise ProviderError("serviceAccount is not valid JSON", permanent=True) from exc
        access = await self.access_token(account)
        url = f"{self.base_url(credentials)}/v1/projects/{account.get('project_id', '')}/messages:send"

        async def one(token: str) -> str | None:
            body = {
                "token": token,
                "notification": {"title": message.title, "body": message.content},
                **({"data": string_data(message.data)} if message.data else {}),
            }
            response = await self.call(
                "POST",
                url,
                headers={"Authorization": f"Bearer {access}"},
                json={"message": deep_merge(body, message.extra)},
                refine=fcm_gone(token),
            )
            return json_or_empty(response).get("name")

        return await each_token(message.tokens, one)


class ApnsProvider(HttpAdapter, PushProvider):
    """``POST /3/device/{token}`` over HTTP/2 with an ES256 provider token (``kid`` = keyId, ``iss`` = teamId).

    Give it an ``httpx.AsyncClient(http1=False, http2=True)``: APNs speaks only HTTP/2.
    """

    provider_id: ClassVar[str] = "apns"
    default_base_url: ClassVar[str] = "https://api.push.apple.com"
    SANDBOX: ClassVar[str] = "https://api.sandbox.push.apple.com"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._jwts: dict[str, tuple[str, float]] = {}

    def base_url(self, credentials: dict[str, Any]) -> str:
        if not credentials.get("baseUrl") and self.provider_id not in self.base_urls:
            production = str(credentials.get("production", "true")).lower() in ("true", "1")
            return self.default_base_url if production else self.SANDBOX
        return super().base_url(credentials)

    def provider_token(self, credentials: dict[str, Any]) -> str:
        """APNs wants the token refreshed at most every 20 minutes and at least hourly."""
        cache_key = f"{credentials.get('teamId')}:{credentials.get('keyId')}"
        cached = self._jwts.get(cache_key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        try:
            token = jwt.encode(
                {"iss": credentials.get("teamId", ""), "iat": int(time.time())},
                credentials.get("secretKey", ""),
                algorithm="ES256",
                headers={"kid": credentials.get("keyId", "")},
            )
        except (ValueError, TypeError) as exc:
            raise ProviderError("invalid APNs signing key", permanent=True) from exc
        self._jwts[cache_key] = (token, time.monotonic() + 40 * 60)
        return token

    async def send(self, message: PushMessage, credentials: dict[str, Any]) -> SendResult:
        bearer = self.provider_token(credentials)
        base = self.base_url(credentials)
        body = deep_merge(
            {"aps": {"alert": {"title": message.title, "body": message.content}}, **message.data},
            message.extra,
        )

        async def one(token: str) -> str | None:
            headers = {
                "authorization": f"bearer {bearer}",
                "apns-topic": str(credentials.get("bundleId", "")),
                "apns-push-type": "alert",
                "apns-priority": "10",
            }
            if message.idempotency_key:
                headers["apns-id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{message.idempotency_key}:{token}"))
            response = await self.call(
                "POST", f"{base}/3/device/{token}", headers=headers, json=body, refine=apns_gone(token)
            )
            return response.headers.get("apns-id")

        return await each_token(message.tokens, one)


class ExpoProvider(HttpAdapter, PushProvider):
    """``POST /--/api/v2/push/send`` with every token in one request; per-ticket errors."""

    provider_id: ClassVar[str] = "expo"
    default_base_url: ClassVar[str] = "https://exp.host"
    TRANSIENT: ClassVar[frozenset[str]] = frozenset({"MessageRateExceeded"})

    async def send(self, message: PushMessage, credentials: dict[str, Any]) -> SendResult:
        headers = {"Authorization": f"Bearer {credentials['apiKey']}"} if credentials.get("apiKey") else {}
        body = [
            deep_merge(
                {"to": t, "title": message.title, "body": message.content, "data": message.data},
                message.extra,
            )
            for t in message.tokens
        ]
        response = await self.call(
            "POST", f"{self.base_url(credentials)}/--/api/v2/push/send", headers=headers, json=body
        )
        tickets = json_or_empty(response).get("data") or []
        ok = [t for t in tickets if t.get("status") == "ok"]
        # Tickets come back in the order of the messages sent.
        gone = [
            token
            for token, ticket in zip(message.tokens, tickets, strict=False)
            if (ticket.get("details") or {}).get("error") == "DeviceNotRegistered"
        ]
        if not ok:
            kinds = [plain((t.get("details") or {}).get("error"), "") for t in tickets if isinstance(t, dict)]
            raise ProviderError(
                f"Expo rejected every ticket: {', '.join(kinds) or 'no tickets'}",
                permanent=not any(k in self.TRANSIENT for k in kinds),
                gone_tokens=gone,
            )
        return SendResult(
            provider_message_id=ok[0].get("id"),
            raw={"sent": len(ok), "failed": len(tickets) - len(ok)},
            gone_tokens=gone,
        )


class OneSignalProvider(HttpAdapter, PushProvider):
    """``POST /api/v1/notifications``; OneSignal de-duplicates on ``idempotency_key`` (a UUID) for 30 days."""

    provider_id: ClassVar[str] = "one-signal"
    default_base_url: ClassVar[str] = "https://onesignal.com"
    idempotent: ClassVar[bool] = True

    async def send(self, message: PushMessage, credentials: dict[str, Any]) -> SendResult:
        body: dict[str, Any] = {
            "app_id": credentials.get("applicationId", ""),
            "include_player_ids": message.tokens,
            "headings": {"en": message.title},
            "contents": {"en": message.content},
        }
        if message.data:
            body["data"] = message.data
        if message.idempotency_key:
            body["idempotency_key"] = str(uuid.uuid5(uuid.NAMESPACE_URL, message.idempotency_key))
        response = await self.call(
            "POST",
            f"{self.base_url(credentials)}/api/v1/notifications",
            headers={"Authorization": f"Basic {credentials.get('apiKey', '')}"},
            json=deep_merge(body, message.extra),
        )
        answer = json_or_empty(response)
        errors = answer.get("errors")
        gone = [str(t) for t in errors.get("invalid_player_ids") or []] if isinstance(errors, dict) else []
        if not answer.get("id"):
            raise ProviderError(
                f"OneSignal sent nothing ({len(errors or [])} errors)", permanent=True, gone_tokens=gone
            )
        return SendResult(provider_message_id=answer["id"], gone_tokens=gone)
