"""``/v1/layouts``: email layouts (``{{{body}}}`` wrappers), paged list, one default per environment."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict, field_validator

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, Conflict, NotFound
from api.limits import check_template
from api.responses import IdOut, LayoutOut
from api.views import layout_view
from api.wire import Data, Page, WireRouter, ok, query_int
from store.db import Database
from store.layouts import (
    LayoutError,
    create_layout,
    delete_layout,
    get_layout,
    list_layouts,
    set_default,
    update_layout,
)
from store.models import Layout

router = WireRouter(prefix="/v1/layouts", tags=["layouts"])


class CreateLayoutBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    identifier: str
    content: str

    _content = field_validator("content")(check_template)
    description: str | None = None
    variables: list[dict[str, Any]] | None = None
    isDefault: bool = False


class UpdateLayoutBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    identifier: str | None = None
    description: str | None = None
    content: str | None = None

    _content = field_validator("content")(check_template)
    variables: list[dict[str, Any]] | None = None
    isDefault: bool | None = None


def refuse(exc: LayoutError) -> Exception:
    return Conflict(str(exc)) if exc.kind == "conflict" else BadRequest(str(exc))


async def found(db: Database, env: CurrentEnv, layout_id: str) -> Layout:
    async with db.session() as session:
        row = await get_layout(session=session, environment_id=env.id, layout_id=layout_id)
    if row is None:
        raise NotFound(f"Layout not found for id {layout_id}")
    return row


@router.post("", status_code=201, response_model=Data[IdOut])
async def post_layout(body: CreateLayoutBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    fields = {
        "name": body.name,
        "identifier": body.identifier,
        "content": body.content,
        "description": body.description,
        "variables": body.variables or [],
        "is_default": body.isDefault,
    }
    try:
        async with db.session() as session:
            row = await create_layout(session=session, environment_id=env.id, fields=fields)
    except LayoutError as exc:
        raise refuse(exc) from exc
    return ok({"_id": row.id})


@router.get("", response_model=Page[LayoutOut])
async def get_layouts(
    env: CurrentEnv,
    db: DbDep,
    page: str | None = Query(None),
    pageSize: str | None = Query(None),
    orderBy: str | None = Query(None),
) -> dict[str, Any]:
    page_n = query_int("page", page, default=0, minimum=0)
    size = query_int("pageSize", pageSize, default=10, minimum=1, maximum=1000)
    ascending = str(orderBy or "").upper() in ("ASC", "1")
    async with db.session() as session:
        rows, total = await list_layouts(
            session=session, environment_id=env.id, page=page_n, page_size=size, descending=not ascending
        )
    return {
        "page": page_n,
        "pageSize": size,
        "totalCount": total,
        "data": [layout_view(r, env.organization_id) for r in rows],
    }


@router.get("/{layout_id}", response_model=Data[LayoutOut])
async def get_one_layout(layout_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    return ok(layout_view(await found(db, env, layout_id), env.organization_id))


@router.patch("/{layout_id}", response_model=Data[LayoutOut])
async def patch_layout(layout_id: str, body: UpdateLayoutBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    given = body.model_dump(exclude_unset=True)
    names = {"isDefault": "is_default"}
    changes = {names.get(k, k): v for k, v in given.items()}
    try:
        async with db.session() as session:
            row = await get_layout(session=session, environment_id=env.id, layout_id=layout_id)
            if row is None:
                raise NotFound(f"Layout not found for id {layout_id}")
            row = await update_layout(session=session, row=row, changes=changes)
    except LayoutError as exc:
        raise refuse(exc) from exc
    return ok(layout_view(row, env.organization_id))


@router.delete("/{layout_id}", status_code=204)
async def remove_layout(layout_id: str, env: CurrentEnv, db: DbDep) -> Response:
    try:
        async with db.session() as session:
            row = await get_layout(session=session, environment_id=env.id, layout_id=layout_id)
            if row is None:
                raise NotFound(f"Layout not found for id {layout_id}")
            await delete_layout(session=session, row=row)
    except LayoutError as exc:
        raise refuse(exc) from exc
    return Response(status_code=204)


@router.post("/{layout_id}/default", status_code=204)
async def post_default(layout_id: str, env: CurrentEnv, db: DbDep) -> Response:
    async with db.session() as session:
        row = await get_layout(session=session, environment_id=env.id, layout_id=layout_id)
        if row is None:
            raise NotFound(f"Layout not found for id {layout_id}")
        await set_default(session=session, row=row)
    return Response(status_code=204)
