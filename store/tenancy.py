"""Organizations, environments and API keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.crypto import CredentialCipher
from store.models import ApiKey, Environment, Integration, NotificationGroup, Organization


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class EnvironmentRef:
    """What an authenticated request knows about its caller."""

    id: str
    organization_id: str
    name: str


async def get_or_create_organization(*, session: AsyncSession, name: str) -> Organization:
    org = (await session.exec(select(Organization).where(Organization.name == name))).first()
    if org is None:
        org = Organization(name=name)
        session.add(org)
        await session.flush()
    return org


async def get_or_create_environment(
    *,
    session: AsyncSession,
    organization: Organization,
    name: str,
    default_integrations: list[dict[str, Any]] | None = None,
) -> tuple[Environment, bool]:
    """The named environment of the organization, created with its defaults when missing."""
    env = (
        await session.exec(
            select(Environment).where(
                Environment.organization_id == organization.id, Environment.name == name
            )
        )
    ).first()
    if env is not None:
        return env, False
    env = Environment(organization_id=organization.id, name=name, identifier=secrets.token_urlsafe(9))
    session.add(env)
    await session.flush()
    session.add(NotificationGroup(environment_id=env.id, name="General"))
    for spec in default_integrations or []:
        session.add(Integration(organization_id=organization.id, environment_id=env.id, **spec))
    await session.flush()
    return env, True


async def create_api_key(
    *, session: AsyncSession, environment: Environment, cipher: CredentialCipher | None = None
) -> str:
    """Create a key for the environment and return it. It is found by its hash; with ``cipher`` an
    encrypted copy is kept for subscriber HMACs (``store.hmac_keys``)."""
    key = secrets.token_hex(16)
    session.add(
        ApiKey(
            environment_id=environment.id,
            key_hash=hash_key(key),
            hint=key[-4:],
            key_encrypted=cipher.encrypt_text(key) if cipher else "",
        )
    )
    await session.flush()
    return key


async def environment_for_key(*, session: AsyncSession, key: str) -> EnvironmentRef | None:
    row = (
        await session.exec(
            select(Environment)
            .join(ApiKey, ApiKey.environment_id == Environment.id)  # type: ignore[arg-type]
            .where(ApiKey.key_hash == hash_key(key))
        )
    ).first()
    if row is None:
        return None
    return EnvironmentRef(id=row.id, organization_id=row.organization_id, name=row.name)


async def get_environment(*, session: AsyncSession, environment_id: str) -> Environment | None:
    return await session.get(Environment, environment_id)


async def list_environments(*, session: AsyncSession) -> list[Environment]:
    return list((await session.exec(select(Environment))).all())


async def environment_by_name(*, session: AsyncSession, name: str) -> Environment | None:
    """The first environment with this name (names are unique per organization, not across them)."""
    return (await session.exec(select(Environment).where(Environment.name == name))).first()


async def environment_by_identifier(*, session: AsyncSession, identifier: str) -> Environment | None:
    """The environment a browser names by its public ``applicationIdentifier``."""
    return (await session.exec(select(Environment).where(Environment.identifier == identifier))).first()


async def organization_environments(*, session: AsyncSession, organization_id: str) -> list[Environment]:
    stmt = select(Environment).where(Environment.organization_id == organization_id)
    return list((await session.exec(stmt)).all())


async def environment_api_keys(*, session: AsyncSession, environment_id: str) -> list[ApiKey]:
    return list((await session.exec(select(ApiKey).where(ApiKey.environment_id == environment_id))).all())
