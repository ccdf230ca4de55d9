"""Chat OAuth with Slack: the authorize URL, the signed ``state``, and the code exchange.

Slack answers the exchange with an incoming-webhook URL, which becomes the subscriber's credential.
"""

from __future__ import annotations

import hashlib
import hmac
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


def sign_state(secret: str, *, environment_id: str, subscriber_id: str, provider_id: str) -> str:
    """A ``state`` value the callback can check came from our own authorize redirect."""
    message = f"{environment_id}\n{subscriber_id}\n{provider_id}".encode()
    return hmac.new(f"tidings-oauth:{secret}".encode(), message, hashlib.sha256).hexdigest()


def state_matches(secret: str, state: str, **ids: str) -> bool:
    return hmac.compare_digest(sign_state(secret, **ids), state)


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
