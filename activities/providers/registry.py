"""Every adapter Tidings ships, built once per worker: provider id → adapter, per channel."""

from __future__ import annotations

from typing import Any, cast

import httpx

from activities.providers.base import Provider
from activities.providers.chat import (
    ChatWebhookProvider,
    DiscordProvider,
    MattermostProvider,
    MsTeamsProvider,
    SlackProvider,
)
from activities.providers.email_http import (
    MailgunProvider,
    PostmarkProvider,
    ResendProvider,
    SendGridProvider,
)
from activities.providers.http import HttpAdapter
from activities.providers.push import ApnsProvider, ExpoProvider, FcmProvider, OneSignalProvider
from activities.providers.ses import SesProvider
from activities.providers.sms import GenericSmsProvider, PlivoProvider, TwilioProvider, VonageProvider
from activities.providers.smtp import SmtpProvider
from activities.providers.webpush import WebPushProvider
from tidings.outbound import outbound_client, trusted_pairs

HTTP_ADAPTERS: list[type[HttpAdapter]] = [
    SendGridProvider,
    MailgunProvider,
    PostmarkProvider,
    ResendProvider,
    SesProvider,
    TwilioProvider,
    VonageProvider,
    PlivoProvider,
    GenericSmsProvider,
    FcmProvider,
    ExpoProvider,
    OneSignalProvider,
    WebPushProvider,
    SlackProvider,
    DiscordProvider,
    MsTeamsProvider,
    MattermostProvider,
    ChatWebhookProvider,
]


def build_providers(
    *,
    base_urls: dict[str, str] | None = None,
    timeout: float = 10.0,
    allow_private: bool = False,
    trusted_smtp: tuple[str, int] | None = None,
    smtp_login: tuple[str, str] | None = None,
    max_connections: int = 200,
    max_keepalive: int = 200,
) -> dict[str, dict[str, Provider[Any]]]:
    """channel → provider id → adapter. HTTP/1.1 adapters share one client; APNs gets an HTTP/2 one.
    Every client comes from :func:`tidings.outbound.outbound_client`; ``trusted_smtp`` is the operator's
    own relay, the one private SMTP destination allowed."""
    trusted = trusted_pairs((base_urls or {}).values())
    # One pool for every HTTP/1.1 provider, sized for the sends in flight (TIDINGS_PROVIDER_MAX_*).
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_keepalive)
    client = outbound_client(allow_private=allow_private, timeout=timeout, trusted=trusted, limits=limits)
    adapters: list[Provider[Any]] = [
        SmtpProvider(
            timeout=timeout * 2, allow_private=allow_private, trusted=trusted_smtp, operator_login=smtp_login
        )
    ]
    adapters += [
        cast(Provider[Any], cls(client=client, base_urls=base_urls, timeout=timeout)) for cls in HTTP_ADAPTERS
    ]
    adapters.append(
        ApnsProvider(
            client=outbound_client(
                allow_private=allow_private, timeout=timeout, http1=False, http2=True, trusted=trusted
            ),
            base_urls=base_urls,
            timeout=timeout,
        )
    )
    registry: dict[str, dict[str, Provider[Any]]] = {}
    for adapter in adapters:
        registry.setdefault(adapter.channel, {})[adapter.provider_id] = adapter
    return registry
