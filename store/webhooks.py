"""Outbound webhook endpoints and their deliveries: keyword-only data functions and wire views."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from store.crypto import CredentialCipher
from store.db import utcnow
from store.models import WebhookDelivery, WebhookEndpoint
from store.webhook_events import forget_endpoints


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes (the HMAC key)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_id(delivery_id: str) -> str:
    """The ``webhook-id`` header: stable across every retry and re-send of one delivery."""
    return f"msg_{delivery_id}"


async def create_endpoint(
    *,
    session: AsyncSession,
    cipher: CredentialCipher,
    environment_id: str,
    url: str,
    events: list[str],
    description: str | None,
    active: bool,
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint; returns it with its secret in clear (shown to the caller once)."""
    secret = new_secret()
    row = WebhookEndpoint(
        environment_id=environment_id,
        url=url,
        events=events,
        description=description,
        active=active,
        secret_encrypted=cipher.encrypt({"secret": secret}),
    )
    session.add(row)
    await session.flush()
    forget_endpoints(environment_id)
    return row, secret


def endpoint_secret(row: WebhookEndpoint, cipher: CredentialCipher) -> str:
    return str(cipher.decrypt(row.secret_encrypted)["secret"])


async def list_endpoints(*, session: AsyncSession, environment_id: str) -> list[WebhookEndpoint]:
    stmt = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.environment_id == environment_id)
        .order_by(col(WebhookEndpoint.created_at))
    )
    return list((await session.exec(stmt)).all())


async def get_endpoint(
    *, session: AsyncSession, environment_id: str, endpoint_id: str
) -> WebhookEndpoint | None:
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.environment_id == environment_id, WebhookEndpoint.id == endpoint_id
    )
    return (await session.exec(stmt)).first()


async def update_endpoint(*, session: AsyncSession, row: WebhookEndpoint, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    if changes.get("active") is True:
        row.disabled_reason = None
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    forget_endpoints(row.environment_id)


async def delete_endpoint(*, session: AsyncSession, row: WebhookEndpoint) -> None:
    """Delete the endpoint; its undelivered events are dropped, its delivery log goes with it."""
    await session.exec(delete(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == row.id))  # type: ignore[call-overload]
    await session.delete(row)
    await session.flush()
    forget_endpoints(row.environment_id)


async def list_deliveries(
    *, session: AsyncSession, endpoint_id: str, page: int, limit: int
) -> list[WebhookDelivery]:
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc())
        .offset(page * limit)
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


async def get_delivery(
    *, session: AsyncSession, endpoint_id: str, delivery_id: str
) -> WebhookDelivery | None:
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.id == delivery_id
    )
    return (await session.exec(stmt)).first()


async def load_for_delivery(
    *, session: AsyncSession, delivery_id: str
) -> tuple[WebhookDelivery | None, WebhookEndpoint | None]:
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return None, None
    return delivery, await session.get(WebhookEndpoint, delivery.endpoint_id)


async def record_attempt(
    *,
    session: AsyncSession,
    delivery_id: str,
    status: str,
    status_code: int | None,
    error: str | None,
    next_attempt_at: datetime | None = None,
) -> None:
    """Count one attempt and its outcome."""
    values: dict[str, Any] = {
        "attempts": col(WebhookDelivery.attempts) + 1,
        "status": status,
        "last_status_code": status_code,
        "last_error": error[:500] if error else None,
        "next_attempt_at": next_attempt_at,
    }
    if status == "succeeded":
        values["delivered_at"] = utcnow()
    await session.exec(update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id).values(**values))  # type: ignore[call-overload]


async def set_delivery_status(
    *, session: AsyncSession, delivery_id: str, status: str, error: str | None = None
) -> None:
    values: dict[str, Any] = {"status": status, "next_attempt_at": None}
    if error is not None:
        values["last_error"] = error[:500]
    await session.exec(update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id).values(**values))  # type: ignore[call-overload]


async def disable_endpoint(*, session: AsyncSession, endpoint: WebhookEndpoint, reason: str) -> None:
    """Stop delivering to the endpoint (other processes notice within the endpoint cache's lifetime;
    what they emit meanwhile is dropped at delivery)."""
    await session.exec(  # type: ignore[call-overload]
        update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == endpoint.id)
        .values(active=False, disabled_reason=reason, updated_at=utcnow())
    )
    forget_endpoints(endpoint.environment_id)


async def reset_for_resend(*, session: AsyncSession, row: WebhookDelivery) -> None:
    """Make a delivery pending again (same ``webhook-id``); the caller starts its workflow."""
    row.status = "pending"
    row.next_attempt_at = None
    row.dispatched_at = None
    session.add(row)
    await session.flush()


async def mark_dispatched(*, session: AsyncSession, ids: list[str]) -> None:
    await session.exec(  # type: ignore[call-overload]
        update(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids)).values(dispatched_at=utcnow())
    )


async def undispatched(*, session: AsyncSession, before: datetime, limit: int) -> list[str]:
    """Pending deliveries whose workflow was never started (the outbox relay's work)."""
    stmt = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == "pending",
            col(WebhookDelivery.dispatched_at).is_(None),
            col(WebhookDelivery.created_at) < before,
        )
        .order_by(col(WebhookDelivery.created_at))
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


async def delivery_events(*, session: AsyncSession, ids: list[str]) -> dict[str, str]:
    """Delivery id → event type, for the rows that exist."""
    stmt = select(WebhookDelivery.id, WebhookDelivery.event_type).where(col(WebhookDelivery.id).in_(ids))
    return {i: e for i, e in (await session.exec(stmt)).all()}
