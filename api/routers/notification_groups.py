"""``/v1/notification-groups``: the groups workflows are filed under."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.deps import CurrentEnv, DbDep
from api.errors import Conflict, NotFound
from api.responses import Deleted, GroupOut
from api.views import group_view
from api.wire import Data, WireRouter, ok
from store.workflows_store import (
    delete_group,
    get_group,
    group_by_name,
    group_in_use,
    list_groups,
    rename_group,
)

router = WireRouter(prefix="/v1/notification-groups", tags=["notification-groups"])


class GroupBody(BaseModel):
    name: str


def missing(group_id: str) -> NotFound:
    return NotFound(f"Notification group with id {group_id} not found")


@router.post("", status_code=201, response_model=Data[GroupOut])
async def create_group(body: GroupBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    """Create a group; a group with the same name is returned instead of duplicated."""
    async with db.session() as session:
        group = await group_by_name(session=session, environment_id=env.id, name=body.name)
    return ok(group_view(group, env.organization_id))


@router.get("", response_model=Data[list[GroupOut]])
async def list_all(env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        groups = await list_groups(session=session, environment_id=env.id)
    return ok([group_view(g, env.organization_id) for g in groups])


@router.get("/{group_id}", response_model=Data[GroupOut])
async def get_one(group_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        group = await get_group(session=session, environment_id=env.id, group_id=group_id)
    if group is None:
        raise missing(group_id)
    return ok(group_view(group, env.organization_id))


@router.patch("/{group_id}", response_model=Data[GroupOut])
async def rename(group_id: str, body: GroupBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        group = await get_group(session=session, environment_id=env.id, group_id=group_id)
        if group is None:
            raise missing(group_id)
        await rename_group(session=session, group=group, name=body.name)
    return ok(group_view(group, env.organization_id))


@router.delete("/{group_id}", response_model=Data[Deleted])
async def delete(group_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        group = await get_group(session=session, environment_id=env.id, group_id=group_id)
        if group is None:
            raise missing(group_id)
        if await group_in_use(session=session, group_id=group.id):
            raise Conflict(f"Notification group {group_id} has workflows and can not be deleted")
        await delete_group(session=session, group=group)
    return ok({"acknowledged": True, "status": "deleted"})
