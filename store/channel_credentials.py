"""A subscriber's channel credentials (Novu's ``channels``: one entry per provider and integration) and
the push device tokens in them: set by the credentials routes and OAuth, added by a browser through the
Inbox (Web Push), dropped when a provider reports them gone."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import utcnow
from store.models import Integration, Subscriber

#: Device tokens kept per subscriber and integration: the newest (docs/limits.md).
MAX_DEVICE_TOKENS = 100


def _unique(tokens: Iterable[Any]) -> list[Any]:
    """First occurrences in order, in linear time (a list scan per token was quadratic), at most the
    newest :data:`MAX_DEVICE_TOKENS`."""
    unique = list(dict.fromkeys(str(t) for t in tokens))
    return unique[-MAX_DEVICE_TOKENS:]


async def set_channel_credentials(
    *,
    session: AsyncSession,
    row: Subscriber,
    integration: Integration,
    credentials: dict[str, Any],
    append: bool,
) -> Subscriber:
    """Novu's ``UpdateSubscriberChannel``: merge into the entry for (provider, integration) or add one.

    ``append`` (PATCH) unions device tokens with the stored ones; PUT keeps only the new unique list.
    """
    channels = [dict(c) for c in (row.channels or [])]
    given = {k: v for k, v in credentials.items() if v is not None}
    entry = next(
        (
            c
            for c in channels
            if c.get("providerId") == integration.provider_id and c.get("_integrationId") == integration.id
        ),
        None,
    )
    if entry is None:
        if "deviceTokens" in given:
            given["deviceTokens"] = _unique(given["deviceTokens"])
        channels.append(
            {
                "_integrationId": integration.id,
                "providerId": integration.provider_id,
                "integrationIdentifier": integration.identifier,
                "credentials": given,
            }
        )
    else:
        old = dict(entry.get("credentials") or {})
        if old == given:
            return row
        merged = {**old, **given}
        if "deviceTokens" in given or "deviceTokens" in old:
            new_tokens = list(given.get("deviceTokens") or [])
            tokens = [*(old.get("deviceTokens") or []), *new_tokens] if append else new_tokens
            if "deviceTokens" not in given and not append:
                tokens = list(old.get("deviceTokens") or [])
            merged["deviceTokens"] = _unique(tokens)
        entry["credentials"] = merged
    row.channels = channels
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def remove_channel_credentials(*, session: AsyncSession, row: Subscriber, provider_id: str) -> None:
    """Drop every channel entry of the provider."""
    row.channels = [c for c in (row.channels or []) if c.get("providerId") != provider_id]
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()


async def _locked(session: AsyncSession, subscriber_row_id: str) -> Subscriber | None:
    """The subscriber row, locked (PostgreSQL) so a concurrent credentials update is not overwritten."""
    stmt = select(Subscriber).where(Subscriber.id == subscriber_row_id).with_for_update()
    return (await session.exec(stmt)).first()


async def add_device_token(
    *, session: AsyncSession, subscriber_row_id: str, integration: Integration, token: str
) -> Subscriber | None:
    """Add one device token to the subscriber's entry for ``integration`` (``None``: no such subscriber)."""
    row = await _locked(session, subscriber_row_id)
    if row is None:
        return None
    return await set_channel_credentials(
        session=session, row=row, integration=integration, credentials={"deviceTokens": [token]}, append=True
    )


async def remove_device_tokens(
    *, session: AsyncSession, subscriber_row_id: str, provider_id: str, tokens: list[str]
) -> list[str]:
    """Drop dead push tokens from every channel entry of the provider; returns the tokens removed."""
    if not tokens:
        return []
    return await _remove_tokens(session, subscriber_row_id, provider_id, set(tokens).__contains__)


async def remove_web_push_endpoint(
    *, session: AsyncSession, subscriber_row_id: str, provider_id: str, endpoint: str
) -> list[str]:
    """Drop the stored Web Push subscriptions (``PushSubscription`` JSON tokens) of one browser endpoint."""
    return await _remove_tokens(
        session, subscriber_row_id, provider_id, lambda t: _endpoint_of(t) == endpoint
    )


def _endpoint_of(token: str) -> str | None:
    try:
        return str(json.loads(token).get("endpoint"))
    except (ValueError, AttributeError):
        return None


async def _remove_tokens(
    session: AsyncSession, subscriber_row_id: str, provider_id: str, dead: Callable[[str], bool]
) -> list[str]:
    row = await _locked(session, subscriber_row_id)
    if row is None:
        return []
    removed: list[str] = []
    channels = []
    for entry in row.channels or []:
        entry = dict(entry)
        credentials = dict(entry.get("credentials") or {})
        if entry.get("providerId") == provider_id and credentials.get("deviceTokens"):
            kept = []
            for token in credentials["deviceTokens"]:
                if dead(str(token)):
                    removed.append(str(token))
                else:
                    kept.append(token)
            credentials["deviceTokens"] = kept
            entry["credentials"] = credentials
        channels.append(entry)
    if removed:
        row.channels = channels
        row.updated_at = utcnow()
        session.add(row)
        await session.flush()
    return removed
