"""Where outbound calls may go: loopback, private, link-local and other internal addresses are refused
unless ``TIDINGS_ALLOW_PRIVATE_DESTINATIONS`` is on (so a tenant cannot aim Tidings at internal services)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


async def destination_refusal(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` may not be called, or ``None`` when it may. Host names are resolved and every
    address is checked; a name that does not resolve (yet) is not refused here."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "url must be an http or https URL"
    if allow_private:
        return None
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
            )
        except OSError:
            return None
        addresses = [str(info[4][0]) for info in infos]
    if any(_internal(a) for a in addresses):
        return (
            "url points to a loopback or private address; set TIDINGS_ALLOW_PRIVATE_DESTINATIONS to allow it"
        )
    return None
