"""REST workflows (Novu's notification templates) and notification groups: keyword-only data functions."""

from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import utcnow
from store.definitions import get_definition
from store.models import NotificationGroup, WorkflowDefinition, WorkflowOverride
from store.workflow_steps import build_triggers, normalize_step, slugify
from workflows.step_json import step_id, unconditioned_variants

CHANNELS = ("email", "sms", "in_app", "chat", "push")


class DefinitionError(Exception):
    """A workflow request the store refuses; ``kind`` is ``not_found``, ``conflict`` or ``invalid``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def not_found(key: str) -> DefinitionError:
    return DefinitionError("not_found", f"Template with id {key} not found")


# --- notification groups ---------------------------------------------------------------------------


async def list_groups(*, session: AsyncSession, environment_id: str) -> list[NotificationGroup]:
    stmt = (
        select(NotificationGroup)
        .where(NotificationGroup.environment_id == environment_id)
        .order_by(col(NotificationGroup.created_at), col(NotificationGroup.id))
    )
    return list((await session.exec(stmt)).all())


async def get_group(*, session: AsyncSession, environment_id: str, group_id: str) -> NotificationGroup | None:
    stmt = select(NotificationGroup).where(
        NotificationGroup.environment_id == environment_id, NotificationGroup.id == group_id
    )
    return (await session.exec(stmt)).first()


async def group_by_name(*, session: AsyncSession, environment_id: str, name: str) -> NotificationGroup:
    """The environment's group with this name, created when missing (as Novu's create does)."""
    stmt = select(NotificationGroup).where(
        NotificationGroup.environment_id == environment_id, NotificationGroup.name == name
    )
    group = (await session.exec(stmt)).first()
    if group is None:
        group = NotificationGroup(environment_id=environment_id, name=name)
        session.add(group)
        await session.flush()
    return group


async def group_in_use(*, session: AsyncSession, group_id: str) -> bool:
    stmt = select(func.count()).where(
        WorkflowDefinition.notification_group_id == group_id, col(WorkflowDefinition.deleted).is_(False)
    )
    return int((await session.exec(stmt)).one()) > 0


async def delete_group(*, session: AsyncSession, group: NotificationGroup) -> None:
    """Delete an unused group; soft-deleted workflows filed under it let go of it first."""
    stmt = select(WorkflowDefinition).where(WorkflowDefinition.notification_group_id == group.id)
    for row in (await session.exec(stmt)).all():
        row.notification_group_id = None
        session.add(row)
    await session.flush()
    await session.delete(group)
    await session.flush()


async def rename_group(*, session: AsyncSession, group: NotificationGroup, name: str) -> NotificationGroup:
    group.name = name
    session.add(group)
    await session.flush()
    return group


# --- workflows -------------------------------------------------------------------------------------


async def list_definitions(
    *, session: AsyncSession, environment_id: str, page: int, limit: int, query: str | None
) -> tuple[list[WorkflowDefinition], int]:
    """A page of live workflows, newest first; ``query`` matches the name or trigger identifier."""
    where: list[Any] = [
        WorkflowDefinition.environment_id == environment_id,
        col(WorkflowDefinition.deleted).is_(False),
    ]
    if query:
        needle = f"%{query.lower()}%"
        where.append(
            func.lower(WorkflowDefinition.name).like(needle)
            | func.lower(WorkflowDefinition.trigger_identifier).like(needle)
        )
    total = int(
        (await session.exec(select(func.count()).select_from(WorkflowDefinition).where(*where))).one()
    )
    stmt = (
        select(WorkflowDefinition)
        .where(*where)
        .order_by(col(WorkflowDefinition.created_at).desc(), col(WorkflowDefinition.id).desc())
        .offset(page * limit)
        .limit(limit)
    )
    return list((await session.exec(stmt)).all()), total


async def free_identifier(*, session: AsyncSession, environment_id: str, wanted: str) -> str:
    """``wanted``, or ``wanted-<short id>`` when another workflow of the environment has it."""
    identifier = wanted
    while (
        await session.exec(
            select(WorkflowDefinition.id).where(
                WorkflowDefinition.environment_id == environment_id,
                WorkflowDefinition.trigger_identifier == identifier,
            )
        )
    ).first() is not None:
        identifier = f"{wanted}-{secrets.token_hex(4)[:7]}"
    return identifier


async def resolve_group(
    *, session: AsyncSession, environment_id: str, group_id: str | None, group: dict[str, Any] | None
) -> NotificationGroup:
    if group_id:
        found = await get_group(session=session, environment_id=environment_id, group_id=group_id)
        if found is None:
            raise DefinitionError("not_found", f"Notification group with id {group_id} not found")
        return found
    name = str((group or {}).get("name") or "General")
    return await group_by_name(session=session, environment_id=environment_id, name=name)


def prepare_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    prepared = [normalize_step(s) for s in steps]
    ids = [step_id(s, i) for i, s in enumerate(prepared)]
    if len(set(ids)) != len(ids):
        raise DefinitionError("invalid", "Step ids (uuid) must be unique within a workflow")
    unconditioned = [v for step in prepared for v in unconditioned_variants(step)]
    if unconditioned:
        name, variant_id = unconditioned[0]
        raise DefinitionError(
            "invalid", f"Variant conditions are required, variant name {name} id {variant_id}"
        )
    return prepared


async def create_definition(
    *, session: AsyncSession, environment_id: str, fields: dict[str, Any]
) -> WorkflowDefinition:
    """Create a REST workflow from Novu's create body (already camelCased and validated)."""
    group = await resolve_group(
        session=session,
        environment_id=environment_id,
        group_id=fields.get("notificationGroupId"),
        group=fields.get("notificationGroup"),
    )
    steps = prepare_steps(fields.get("steps") or [])
    identifier = await free_identifier(
        session=session, environment_id=environment_id, wanted=slugify(fields["name"])
    )
    active = bool(fields.get("active", False))
    row = WorkflowDefinition(
        environment_id=environment_id,
        notification_group_id=group.id,
        name=fields["name"],
        trigger_identifier=identifier,
        description=fields.get("description"),
        origin="rest",
        active=active,
        critical=bool(fields.get("critical", False)),
        tags=list(fields.get("tags") or []),
        preference_settings={**dict.fromkeys(CHANNELS, True), **(fields.get("preferenceSettings") or {})},
        data=fields.get("data"),
        steps=steps,
        triggers=build_triggers(identifier, steps),
    )
    session.add(row)
    await session.flush()
    return row


async def editable_definition(*, session: AsyncSession, environment_id: str, key: str) -> WorkflowDefinition:
    """The REST workflow ``key`` names; code workflows are refused (they change by deploying code)."""
    row = await get_definition(session=session, environment_id=environment_id, key=key)
    if row is None:
        raise not_found(key)
    if row.origin == "code":
        raise DefinitionError(
            "invalid",
            f"Workflow {row.trigger_identifier} is defined in code and can not be changed over the REST API; "
            "edit its Python module and redeploy",
        )
    return row


async def update_definition(
    *, session: AsyncSession, environment_id: str, key: str, fields: dict[str, Any]
) -> WorkflowDefinition:
    row = await editable_definition(session=session, environment_id=environment_id, key=key)
    if "notificationGroupId" in fields or "notificationGroup" in fields:
        group = await resolve_group(
            session=session,
            environment_id=environment_id,
            group_id=fields.get("notificationGroupId"),
            group=fields.get("notificationGroup"),
        )
        row.notification_group_id = group.id
    identifier = fields.get("identifier")
    if identifier and identifier != row.trigger_identifier:
        taken = await get_definition(
            session=session, environment_id=environment_id, key=identifier, by_id=False
        )
        if taken is not None:
            raise DefinitionError("conflict", f"Workflow with identifier {identifier} already exists")
        row.trigger_identifier = identifier
    for name, column in (("name", "name"), ("description", "description"), ("data", "data")):
        if name in fields:
            setattr(row, column, fields[name])
    if fields.get("tags") is not None:
        row.tags = list(fields["tags"])
    if fields.get("critical") is not None:
        row.critical = bool(fields["critical"])
    if fields.get("active") is not None:
        row.active = bool(fields["active"])
    if fields.get("preferenceSettings") is not None:
        row.preference_settings = {**dict.fromkeys(CHANNELS, True), **fields["preferenceSettings"]}
    if fields.get("steps") is not None:
        row.steps = prepare_steps(fields["steps"])
    row.triggers = build_triggers(row.trigger_identifier, row.steps)
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def delete_definition(*, session: AsyncSession, environment_id: str, key: str) -> None:
    """Soft delete; the trigger identifier is freed by renaming it, and tenant overrides go with it."""
    row = await editable_definition(session=session, environment_id=environment_id, key=key)
    row.deleted = True
    row.deleted_at = utcnow()
    row.trigger_identifier = f"{row.trigger_identifier}:deleted:{row.id}"
    session.add(row)
    for override in (
        await session.exec(select(WorkflowOverride).where(WorkflowOverride.workflow_id == row.id))
    ).all():
        await session.delete(override)
    await session.flush()


async def set_status(
    *, session: AsyncSession, environment_id: str, key: str, active: bool
) -> WorkflowDefinition:
    row = await editable_definition(session=session, environment_id=environment_id, key=key)
    if row.active == active:
        raise DefinitionError("invalid", "You must provide a different status from the current status")
    row.active = active
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return row


async def groups_by_id(*, session: AsyncSession, ids: list[str]) -> dict[str, NotificationGroup]:
    if not ids:
        return {}
    stmt = select(NotificationGroup).where(col(NotificationGroup.id).in_(ids))
    return {g.id: g for g in (await session.exec(stmt)).all()}
