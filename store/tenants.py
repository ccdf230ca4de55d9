"""Tenants and per-tenant workflow overrides: keyword-only data functions."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import utcnow
from store.ids import is_object_id
from store.models import Tenant, WorkflowOverride


async def get_tenant(*, session: AsyncSession, environment_id: str, identifier: str) -> Tenant | None:
    stmt = select(Tenant).where(Tenant.environment_id == environment_id, Tenant.identifier == identifier)
    return (await session.exec(stmt)).first()


async def find_tenant(*, session: AsyncSession, environment_id: str, key: str) -> Tenant | None:
    """A tenant by ``_id`` or identifier."""
    stmt = select(Tenant).where(Tenant.environment_id == environment_id)
    if is_object_id(key):
        stmt = stmt.where((Tenant.id == key) | (Tenant.identifier == key))
    else:
        stmt = stmt.where(Tenant.identifier == key)
    return (await session.exec(stmt)).first()


async def list_tenants(
    *, session: AsyncSession, environment_id: str, page: int, limit: int
) -> tuple[list[Tenant], bool]:
    stmt = (
        select(Tenant)
        .where(Tenant.environment_id == environment_id)
        .order_by(col(Tenant.created_at).desc(), col(Tenant.id).desc())
        .offset(page * limit)
        .limit(limit + 1)
    )
    rows = list((await session.exec(stmt)).all())
    return rows[:limit], len(rows) > limit


async def create_tenant(
    *,
    session: AsyncSession,
    environment_id: str,
    identifier: str,
    name: str | None,
    data: dict[str, Any] | None,
) -> Tenant:
    tenant = Tenant(environment_id=environment_id, identifier=identifier, name=name, data=data or {})
    session.add(tenant)
    await session.flush()
    return tenant


async def update_tenant(*, session: AsyncSession, tenant: Tenant, changes: dict[str, Any]) -> Tenant:
    for key in ("identifier", "name", "data"):
        if changes.get(key) is not None:
            setattr(tenant, key, changes[key])
    tenant.updated_at = utcnow()
    session.add(tenant)
    await session.flush()
    return tenant


async def delete_tenant(*, session: AsyncSession, tenant: Tenant) -> None:
    for override in (
        await session.exec(select(WorkflowOverride).where(WorkflowOverride.tenant_id == tenant.id))
    ).all():
        await session.delete(override)
    await session.delete(tenant)
    await session.flush()


# --- workflow overrides ----------------------------------------------------------------------------


async def get_override(
    *,
    session: AsyncSession,
    environment_id: str,
    override_id: str | None = None,
    workflow_id: str | None = None,
    tenant_id: str | None = None,
) -> WorkflowOverride | None:
    stmt = select(WorkflowOverride).where(
        WorkflowOverride.environment_id == environment_id, col(WorkflowOverride.deleted).is_(False)
    )
    if override_id is not None:
        stmt = stmt.where(WorkflowOverride.id == override_id)
    if workflow_id is not None:
        stmt = stmt.where(WorkflowOverride.workflow_id == workflow_id)
    if tenant_id is not None:
        stmt = stmt.where(WorkflowOverride.tenant_id == tenant_id)
    return (await session.exec(stmt)).first()


async def list_overrides(
    *, session: AsyncSession, environment_id: str, page: int, limit: int
) -> tuple[list[WorkflowOverride], bool]:
    stmt = (
        select(WorkflowOverride)
        .where(WorkflowOverride.environment_id == environment_id, col(WorkflowOverride.deleted).is_(False))
        .order_by(col(WorkflowOverride.created_at).desc(), col(WorkflowOverride.id).desc())
        .offset(page * limit)
        .limit(limit + 1)
    )
    rows = list((await session.exec(stmt)).all())
    return rows[:limit], len(rows) > limit


async def save_override(
    *,
    session: AsyncSession,
    override: WorkflowOverride,
    active: bool | None,
    preference_settings: dict[str, bool] | None,
) -> WorkflowOverride:
    if active is not None:
        override.active = active
    if preference_settings is not None:
        override.preference_settings = {**(override.preference_settings or {}), **preference_settings}
    override.updated_at = utcnow()
    session.add(override)
    await session.flush()
    return override


async def delete_override(*, session: AsyncSession, override: WorkflowOverride) -> None:
    await session.delete(override)
    await session.flush()
