"""Integrations: provider credentials per environment (encrypted at rest), primary and priority rules."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.crypto import CredentialCipher
from store.db import utcnow
from store.models import Integration

CHANNELS = ("in_app", "email", "sms", "chat", "push")
PRIMARY_CHANNELS = ("email", "sms")

#: Display names Novu gives its providers (the default integration name).
PROVIDER_NAMES: dict[str, str] = {
    "novu": "Novu In-App",
    "nodemailer": "Custom SMTP",
    "sendgrid": "SendGrid",
    "mailgun": "Mailgun",
    "postmark": "Postmark",
    "resend": "Resend",
    "ses": "SES",
    "twilio": "Twilio",
    "nexmo": "Nexmo",
    "plivo": "Plivo",
    "generic-sms": "Generic SMS",
    "fcm": "FCM",
    "apns": "APNS",
    "expo": "Expo Push",
    "one-signal": "OneSignal",
    "web-push": "Web Push",
    "slack": "Slack",
    "discord": "Discord",
    "msteams": "MSTeams",
    "mattermost": "Mattermost",
    "chat-webhook": "Chat Webhook",
}

#: Credential fields returned in clear; every other field is a secret and is masked in responses.
PUBLIC_FIELDS = frozenset(
    {
        "host", "port", "secure", "user", "from", "senderName", "domain", "region", "baseUrl",
        "accountSid", "projectName", "applicationId", "clientId", "requireTls", "ignoreTls",
        "ipPoolName", "apiKeyRequestHeader", "secretKeyRequestHeader", "idPath", "datePath",
        "keyId", "teamId", "bundleId", "production", "channelId", "redirectUrl", "title", "imageUrl", "hmac",
        "vapidPublicKey", "subject",
    }
)  # fmt: skip
MASK = "********"

#: Credential fields that decide where (and how safely) the secrets are sent. Changing one of them while
#: keeping a stored secret (``********``) would send that secret to a destination its owner never chose.
ENDPOINT_FIELDS = frozenset(
    {
        "baseUrl", "host", "port", "secure", "requireTls", "ignoreTls", "region", "domain", "webhookUrl",
        "apiKeyRequestHeader", "secretKeyRequestHeader",
    }
)  # fmt: skip


class IntegrationError(Exception):
    """A rule of Novu's integrations was broken; ``kind`` is ``bad_request`` or ``conflict``."""

    def __init__(self, message: str, kind: str = "bad_request") -> None:
        super().__init__(message)
        self.kind = kind


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "integration"


def mask(credentials: dict[str, Any]) -> dict[str, Any]:
    """Secrets replaced by ``********``; what an API response may show."""
    return {k: (v if k in PUBLIC_FIELDS or v in (None, "") else MASK) for k, v in credentials.items()}


async def list_integrations(
    *, session: AsyncSession, environment_id: str, active: bool | None = None, channel: str | None = None
) -> list[Integration]:
    stmt = select(Integration).where(
        Integration.environment_id == environment_id, col(Integration.deleted).is_(False)
    )
    if active is not None:
        stmt = stmt.where(Integration.active == active)
    if channel is not None:
        stmt = stmt.where(Integration.channel == channel)
    return list((await session.exec(stmt.order_by(col(Integration.created_at), col(Integration.id)))).all())


async def active_integrations(
    *, session: AsyncSession, environment_id: str, channel: str
) -> list[Integration]:
    return await list_integrations(
        session=session, environment_id=environment_id, active=True, channel=channel
    )


async def get_integration(
    *, session: AsyncSession, environment_id: str, integration_id: str
) -> Integration | None:
    row = await session.get(Integration, integration_id)
    return row if row is not None and row.environment_id == environment_id and not row.deleted else None


async def _identifier_taken(
    session: AsyncSession, organization_id: str, identifier: str, exclude: str | None
) -> bool:
    stmt = select(Integration.id).where(
        Integration.organization_id == organization_id, Integration.identifier == identifier
    )
    if exclude:
        stmt = stmt.where(Integration.id != exclude)
    return (await session.exec(stmt)).first() is not None


async def _next_priority(session: AsyncSession, environment_id: str, channel: str) -> int:
    stmt = select(func.max(Integration.priority)).where(
        Integration.environment_id == environment_id,
        Integration.channel == channel,
        col(Integration.deleted).is_(False),
    )
    return int((await session.exec(stmt)).one() or 0) + 1


async def create_integration(
    *,
    session: AsyncSession,
    cipher: CredentialCipher,
    environment_id: str,
    organization_id: str,
    provider_id: str,
    channel: str,
    name: str | None = None,
    identifier: str | None = None,
    credentials: dict[str, Any] | None = None,
    active: bool = False,
    conditions: list[dict[str, Any]] | None = None,
) -> Integration:
    """Novu's create rules: default name and identifier, one in-app provider, first active email/sms is primary."""
    if channel not in CHANNELS:
        raise IntegrationError(f"channel must be one of the following values: {', '.join(CHANNELS)}")
    if channel == "in_app" and await list_integrations(
        session=session, environment_id=environment_id, channel="in_app"
    ):
        raise IntegrationError("One environment can only have one In app provider")
    name = name or PROVIDER_NAMES.get(provider_id, provider_id)
    identifier = identifier or f"{slug(name)}-{secrets.token_hex(3)}"
    if await _identifier_taken(session, organization_id, identifier, None):
        raise IntegrationError("Integration with identifier already exists", "conflict")
    row = Integration(
        organization_id=organization_id,
        environment_id=environment_id,
        name=name,
        identifier=identifier,
        provider_id=provider_id,
        channel=channel,
        credentials_encrypted=cipher.encrypt(credentials or {}),
        active=active,
        conditions=conditions or [],
    )
    if active and channel in PRIMARY_CHANNELS:
        others = await active_integrations(session=session, environment_id=environment_id, channel=channel)
        row.primary = not any(o.primary for o in others)
        row.priority = await _next_priority(session, environment_id, channel)
    session.add(row)
    await session.flush()
    return row


async def update_integration(
    *, session: AsyncSession, cipher: CredentialCipher, row: Integration, changes: dict[str, Any]
) -> Integration:
    """Apply a PUT. Masked credential values (``********``) keep what is stored."""
    if changes.get("identifier") and changes["identifier"] != row.identifier:
        if await _identifier_taken(session, row.organization_id, changes["identifier"], row.id):
            raise IntegrationError("Integration with identifier already exists", "conflict")
        row.identifier = changes["identifier"]
    if changes.get("name"):
        row.name = changes["name"]
    if changes.get("credentials") is not None:
        stored = cipher.decrypt(row.credentials_encrypted)
        row.credentials_encrypted = cipher.encrypt(merge_credentials(stored, changes["credentials"]))
    if changes.get("conditions") is not None:
        row.conditions = changes["conditions"]
    if changes.get("active") is not None and changes["active"] != row.active:
        row.active = changes["active"]
        if row.channel in PRIMARY_CHANNELS:
            if not row.active:
                row.primary = False
            else:
                others = await active_integrations(
                    session=session, environment_id=row.environment_id, channel=row.channel
                )
                row.primary = not any(o.primary for o in others if o.id != row.id)
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def merge_credentials(stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """The credentials a PUT leaves: ``sent``, where ``********`` keeps the stored value — unless an
    endpoint field changes, when every kept secret must be sent again (else ``IntegrationError``)."""
    merged = {k: (stored.get(k) if v == MASK else v) for k, v in sent.items()}
    moved = sorted(f for f in ENDPOINT_FIELDS if _plain(merged.get(f)) != _plain(stored.get(f)))
    kept = sorted(k for k, v in sent.items() if v == MASK and k not in ENDPOINT_FIELDS and stored.get(k))
    if moved and kept:
        raise IntegrationError(
            f"{', '.join(moved)} changed: send {', '.join(kept)} again "
            "(stored secrets are not sent to a new destination)"
        )
    return merged


async def delete_integration(*, session: AsyncSession, row: Integration) -> None:
    """Deleted rows are removed (not only flagged), so their identifier can be used again."""
    await session.delete(row)
    await session.flush()


async def set_primary(*, session: AsyncSession, row: Integration) -> Integration:
    if row.channel not in PRIMARY_CHANNELS:
        raise IntegrationError(f"Channel {row.channel} does not support primary")
    for other in await list_integrations(
        session=session, environment_id=row.environment_id, channel=row.channel
    ):
        if other.primary and other.id != row.id:
            other.primary = False
            session.add(other)
    row.primary = True
    row.active = True
    row.priority = await _next_priority(session, row.environment_id, row.channel)
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row
