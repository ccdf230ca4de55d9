"""Every request Tidings makes on a tenant's behalf leaves through here (providers, webhooks, OAuth, SMTP).

Tenants choose destinations (an integration's ``baseUrl``, a chat ``webhookUrl``, an SMTP ``host``), so a
destination is checked where it cannot be dodged: at connect time, after DNS resolution, on the very
address the socket then connects to. A hostname that resolves to ``127.0.0.1`` (or re-resolves there a
second later: DNS rebinding) is refused like the literal address, and so is every redirect hop, because
each hop opens its connection through the same check. Refused: loopback, RFC 1918 / CGNAT / ULA private
ranges, link-local (cloud metadata lives there), unspecified, multicast and reserved addresses.

``TIDINGS_ALLOW_PRIVATE_DESTINATIONS`` turns the check off; ``tidings dev`` sets it (the dev mailbox and
local fakes live on loopback). Environment proxies (``HTTP_PROXY``) are ignored: the check must see the
real destination.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Ranges ``ipaddress``' own flags miss or that deserve a name in the refusal.
_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),  # CGNAT (RFC 6598)
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64: may map to any IPv4 address, checked below
]


class DestinationRefused(Exception):
    """The destination resolves to an address tenants may not reach. The message names the address
    kind, never the URL (webhook URLs are secrets)."""


def refusal(address: Address) -> str | None:
    """Why ``address`` may not be reached, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return refusal(mapped)
        if address in _EXTRA_BLOCKED[2]:
            return refusal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.is_loopback:
        return "loopback"
    if address.is_link_local or address == ipaddress.ip_address("fd00:ec2::254"):
        return "link-local/metadata"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address in _EXTRA_BLOCKED[0] or address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


def check_addresses(host: str, addresses: Iterable[str]) -> list[str]:
    """Every resolved address must be allowed (one bad answer refuses the host): returns them in order."""
    found = list(dict.fromkeys(addresses))
    if not found:
        raise DestinationRefused(f"destination {host!r} does not resolve")
    for text in found:
        why = refusal(ipaddress.ip_address(text.split("%", 1)[0]))
        if why is not None:
            raise DestinationRefused(f"destination refused: {host!r} resolves to a {why} address")
    return found


async def resolve_checked(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses to connect to for ``host``: resolved once, each one checked."""
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        addresses = [host]
    except ValueError:
        # A resolver failure (OSError) propagates: it may be transient, unlike a refusal.
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in infos]
    return list(dict.fromkeys(addresses)) if allow_private else check_addresses(host, addresses)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to checked addresses. TLS is started by httpcore on
    the returned stream with the URL's hostname, so SNI, certificate checks and ``Host`` stay correct."""

    def __init__(self, *, allow_private: bool, trusted: Iterable[tuple[str, int]] = ()) -> None:
        self.allow_private = allow_private
        self.trusted = frozenset(trusted)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        allowed = self.allow_private or (host, port) in self.trusted
        try:
            addresses = await resolve_checked(host, port, allow_private=allowed)
        except OSError as exc:
            raise httpcore.ConnectError(f"name resolution failed ({type(exc).__name__})") from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused("unix sockets are not outbound destinations")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` whose connection pool opens sockets through :class:`GuardedBackend`."""

    def __init__(
        self,
        *,
        allow_private: bool,
        trusted: Iterable[tuple[str, int]] = (),
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),
    ) -> None:
        super().__init__(http1=http1, http2=http2, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            network_backend=GuardedBackend(allow_private=allow_private, trusted=trusted),
        )


def outbound_client(
    *,
    allow_private: bool,
    timeout: float = 10.0,
    http1: bool = True,
    http2: bool = False,
    trusted: Iterable[tuple[str, int]] = (),
    limits: httpx.Limits | None = None,
) -> httpx.AsyncClient:
    """The HTTP client for every outbound call (providers, webhooks, OAuth).

    Redirects are not followed (a provider API that redirects is misconfigured, and a redirect is how a
    public host hands us a private one); a caller that follows one anyway connects each hop through the
    same check. ``trusted`` (host, port) pairs are operator-chosen exceptions, never tenant input."""
    return httpx.AsyncClient(
        transport=GuardedTransport(
            allow_private=allow_private,
            trusted=trusted,
            http1=http1,
            http2=http2,
            limits=limits or httpx.Limits(max_connections=100, max_keepalive_connections=20),
        ),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def trusted_pairs(urls: Iterable[str]) -> list[tuple[str, int]]:
    """(host, port) of operator-configured URLs (``TIDINGS_PROVIDER_BASE_URLS``, the Slack OAuth base):
    the operator chose them, so they may be private (an internal gateway, a local fake)."""
    pairs = []
    for url in urls:
        parts = urlsplit(url)
        if parts.hostname:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            pairs.append((parts.hostname, port))
    return pairs


_SAFE_REASON = re.compile(r"[A-Za-z0-9_.:\- ]{1,64}")


def safe_reason(status: int, body: Any = None) -> str:
    """``HTTP 401 Unauthorized (invalid_auth)``: the status and, when the answer carries a short error
    code, that code. Remote bodies are never stored verbatim: they may echo secrets or internal pages."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    text = f"HTTP {status} {phrase}".strip()
    code = short_code(body)
    return f"{text} ({code})" if code else text


def plain(value: Any, default: str = "withheld") -> str:
    """``value`` when it is a short plain token (an error code), else ``default``."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return text if _SAFE_REASON.fullmatch(text) else default


def short_code(body: Any) -> str | None:
    """A short, plain error code from a JSON answer (``error``, ``code``, ``errorCode`` …), if any."""
    if not isinstance(body, dict):
        return None
    for key in ("code", "errorCode", "error_code", "error", "name", "status"):  # Resend: "name"
        value = body.get(key)
        if isinstance(value, dict):
            value = value.get("code") or value.get("status")
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value)
            if _SAFE_REASON.fullmatch(text):
                return text
    return None


async def open_checked_socket(
    host: str, port: int, *, allow_private: bool, timeout: float, trusted: Iterable[tuple[str, int]] = ()
) -> socket.socket:
    """A connected TCP socket to ``host:port`` through the same check (SMTP). ``trusted`` host/port pairs
    (the operator's own SMTP relay) may be private."""
    allowed = allow_private or (host, port) in set(trusted)
    addresses = await resolve_checked(host, port, allow_private=allowed)
    loop = asyncio.get_running_loop()
    error: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (address, port)), timeout)
            return sock
        except (OSError, TimeoutError) as exc:
            sock.close()
            error = exc if isinstance(exc, OSError) else OSError(f"connect timeout to port {port}")
    assert error is not None
    raise error


__all__ = [
    "DestinationRefused",
    "GuardedTransport",
    "check_addresses",
    "open_checked_socket",
    "outbound_client",
    "plain",
    "refusal",
    "safe_reason",
    "trusted_pairs",
]


async def destination_refusal(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` may not be configured as a destination (webhook endpoints), or ``None`` when it may.

    Checked again at connect time by :func:`outbound_client`; this early check gives the API a clear 400.
    A name that does not resolve (yet) is not refused here."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "url must be an http or https URL"
    if allow_private:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        await resolve_checked(parts.hostname, port, allow_private=False)
    except DestinationRefused as exc:
        if "does not resolve" in str(exc):
            return None
        return (
            "url points to a loopback or private address; set TIDINGS_ALLOW_PRIVATE_DESTINATIONS to allow it"
        )
    return None
