"""Chat OAuth with Slack: the authorize URL, the signed ``state``, and the code exchange.

Slack answers the exchange with an incoming-webhook URL, which becomes the subscriber's credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from tidings.outbound import DestinationRefused, outbound_client, plain, trusted_pairs


class OAuthError(Exception):
    """The provider refused the exchange, or answered something unusable."""


@dataclass(frozen=True)
class SlackWebhook:
    url: str
    channel: str | None


#: How long a started OAuth flow may take before its state is refused.
STATE_TTL_SECONDS = 600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _sign(secret: str, payload: str) -> str:
    return hmac.new(f"tidings-oauth:{secret}".encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_state(
    secret: str,
    *,
    environment_id: str,
    subscriber_id: str,
    provider_id: str,
    nonce: str,
    expires_at: int,
) -> str:
    """``<payload>.<signature>``: who the flow is for, a nonce (also set as a cookie in the browser that
    started the flow) and an expiry, signed with the server secret."""
    body = {"e": environment_id, "s": subscriber_id, "p": provider_id, "n": nonce, "x": expires_at}
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_sign(secret, payload)}"


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def state_matches(
    secret: str,
    state: str,
    *,
    environment_id: str,
    subscriber_id: str,
    provider_id: str,
    nonce: str | None,
    now: float,
) -> bool:
    """The state is ours (signature), unexpired, for this subscriber, and was started in this browser."""
    payload, _, signature = state.partition(".")
    if not payload or not hmac.compare_digest(_sign(secret, payload), signature):
        return False
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and body.get("e") == environment_id
        and body.get("s") == subscriber_id
        and body.get("p") == provider_id
        and isinstance(body.get("x"), int)
        and body["x"] > now
        and bool(nonce)
        and hmac.compare_digest(str(body.get("n")), str(nonce))
    )


def slack_authorize_url(base_url: str, *, client_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode(
        {"client_id": client_id, "scope": "incoming-webhook", "redirect_uri": redirect_uri, "state": state}
    )
    return f"{base_url.rstrip('/')}/oauth/v2/authorize?{query}"


async def slack_exchange(
    base_url: str,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    timeout: float = 15.0,
    allow_private: bool = False,
) -> SlackWebhook:
    """Trade the authorization code for the incoming webhook Slack created."""
    # The Slack base URL is the operator's setting, so its own host may be private (a local fake).
    trusted = trusted_pairs([base_url])
    async with outbound_client(allow_private=allow_private, timeout=timeout, trusted=trusted) as client:
        try:
            response = await client.post(
                f"{base_url.rstrip('/')}/api/oauth.v2.access",
                data={
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "code": code,
                    "redirect_uri": redirect_uri,
                },
            )
            body = response.json()
        except (httpx.HTTPError, ValueError, DestinationRefused) as exc:
            raise OAuthError(f"Slack OAuth exchange failed: {type(exc).__name__}") from exc
    if not isinstance(body, dict) or not body.get("ok"):
        error = body.get("error") if isinstance(body, dict) else None
        raise OAuthError(f"Slack OAuth exchange failed: {plain(error, 'unexpected response')}")
    webhook = body.get("incoming_webhook") or {}
    if not isinstance(webhook, dict) or not webhook.get("url"):
        raise OAuthError("Slack OAuth exchange failed: no incoming webhook in the response")
    return SlackWebhook(url=str(webhook["url"]), channel=webhook.get("channel"))
