"""Translations per (environment, resource type, resource id, locale); every query is keyed by environment."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import utcnow
from store.models import Translation


async def put_translation(
    *,
    session: AsyncSession,
    environment_id: str,
    resource_type: str,
    resource_id: str,
    locale: str,
    content: dict[str, Any],
) -> Translation:
    """Create or replace one locale's content."""
    row = await get_translation(
        session=session,
        environment_id=environment_id,
        resource_type=resource_type,
        resource_id=resource_id,
        locale=locale,
    )
    if row is None:
        row = Translation(
            environment_id=environment_id,
            resource_type=resource_type,
            resource_id=resource_id,
            locale=locale,
            content=content,
        )
    else:
        row.content = content
        row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def get_translation(
    *, session: AsyncSession, environment_id: str, resource_type: str, resource_id: str, locale: str
) -> Translation | None:
    return (
        await session.exec(
            select(Translation).where(
                Translation.environment_id == environment_id,
                Translation.resource_type == resource_type,
                Translation.resource_id == resource_id,
                Translation.locale == locale,
            )
        )
    ).first()


async def resource_translations(
    *, session: AsyncSession, environment_id: str, resource_type: str, resource_id: str
) -> list[Translation]:
    stmt = (
        select(Translation)
        .where(
            Translation.environment_id == environment_id,
            Translation.resource_type == resource_type,
            Translation.resource_id == resource_id,
        )
        .order_by(col(Translation.locale))
    )
    return list((await session.exec(stmt)).all())


async def locale_translations(
    *, session: AsyncSession, environment_id: str, locale: str
) -> list[Translation]:
    stmt = select(Translation).where(
        Translation.environment_id == environment_id, Translation.locale == locale
    )
    return list((await session.exec(stmt.order_by(col(Translation.resource_id)))).all())


async def delete_translations(*, session: AsyncSession, rows: list[Translation]) -> None:
    for row in rows:
        await session.delete(row)
    await session.flush()
