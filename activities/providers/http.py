"""What every HTTP adapter shares: one httpx client, a configurable base URL, the error split."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from typing import Any, ClassVar

import httpx

from activities.providers.base import ProviderError
from tidings.outbound import DestinationRefused, outbound_client, safe_reason

#: 4xx answers that mean "try again later" rather than "this request is wrong".
TRANSIENT_STATUSES = frozenset({408, 425, 429})


def classify(response: httpx.Response) -> ProviderError:
    """5xx, 408 and 429 are transient (retried, then failed over); every other 4xx is permanent.

    The message is the status and a short error code at most, never the remote body (it lands in
    execution details, and a hostile endpoint chooses what it says)."""
    status = response.status_code
    transient = status >= 500 or status in TRANSIENT_STATUSES
    return ProviderError(safe_reason(status, json_or_empty(response)), permanent=not transient, status=status)


class HttpAdapter:
    """Mixin for adapters that speak HTTP. ``base_urls`` (``TIDINGS_PROVIDER_BASE_URLS``) maps a
    provider id to a base URL; an integration's ``baseUrl`` credential takes precedence over both."""

    provider_id: ClassVar[str]
    default_base_url: ClassVar[str] = ""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        base_urls: dict[str, str] | None = None,
        timeout: float = 10.0,
        allow_private: bool = False,
    ) -> None:
        self.client = client or outbound_client(allow_private=allow_private, timeout=timeout)
        self.base_urls = base_urls or {}
        self.timeout = timeout

    def base_url(self, credentials: dict[str, Any]) -> str:
        url = credentials.get("baseUrl") or self.base_urls.get(self.provider_id) or self.default_base_url
        return str(url).rstrip("/")

    async def call(
        self,
        method: str,
        url: str,
        *,
        refine: Callable[[httpx.Response], ProviderError | None] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request; transport failures become transient errors that never echo the URL.

        ``refine`` may turn an error answer into a more precise error (e.g. a push token that is gone).
        """
        try:
            response = await self.client.request(method, url, timeout=self.timeout, **kwargs)
        except DestinationRefused as exc:
            raise ProviderError(str(exc), permanent=True) from exc
        except httpx.TimeoutException as exc:
            raise ProviderError(f"timeout ({type(exc).__name__})", permanent=False) from exc
        except httpx.TransportError as exc:
            raise ProviderError(f"connection failed ({type(exc).__name__})", permanent=False) from exc
        if response.status_code >= 400:
            raise (refine(response) if refine else None) or classify(response)
        if response.is_redirect:
            # Never followed: a redirect is how a public endpoint would hand us a private one.
            raise ProviderError(f"HTTP {response.status_code}: redirect not followed", permanent=True)
        return response


def sender(address: str | None, name: str | None) -> str:
    """``Name <address>`` when a sender name is set."""
    address = address or "no-reply@localhost"
    return email.utils.formataddr((name, address)) if name else address


def json_or_empty(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}
