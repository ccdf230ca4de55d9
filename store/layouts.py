"""Email layouts: one environment's wrappers around email content (``{{{body}}}``), one of them default."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import utcnow
from store.models import Layout, WorkflowDefinition
from workflows.step_json import step_layout_id

BODY_PLACEHOLDER = "{{{body}}}"


class LayoutError(Exception):
    """A layout rule was broken; ``kind`` is ``bad_request`` or ``conflict``."""

    def __init__(self, message: str, kind: str = "conflict") -> None:
        super().__init__(message)
        self.kind = kind


def check_content(content: str) -> None:
    if BODY_PLACEHOLDER not in "".join(content.split()):
        raise LayoutError("Layout content must contain {{{body}}}", "bad_request")


def _live(environment_id: str) -> Any:
    return select(Layout).where(Layout.environment_id == environment_id, col(Layout.deleted).is_(False))


async def get_layout(*, session: AsyncSession, environment_id: str, layout_id: str) -> Layout | None:
    return (await session.exec(_live(environment_id).where(Layout.id == layout_id))).first()


async def _by_identifier(session: AsyncSession, environment_id: str, identifier: str) -> Layout | None:
    return (await session.exec(_live(environment_id).where(Layout.identifier == identifier))).first()


async def layout_by_identifier(
    *, session: AsyncSession, environment_id: str, identifier: str
) -> Layout | None:
    """A layout by its identifier, deleted or not (translations keep naming a layout by identifier)."""
    stmt = select(Layout).where(Layout.environment_id == environment_id, Layout.identifier == identifier)
    return (await session.exec(stmt)).first()


async def _default(session: AsyncSession, environment_id: str) -> Layout | None:
    return (await session.exec(_live(environment_id).where(col(Layout.is_default).is_(True)))).first()


async def _unset_defaults(session: AsyncSession, environment_id: str, keep: str) -> None:
    for other in (await session.exec(_live(environment_id).where(col(Layout.is_default).is_(True)))).all():
        if other.id != keep:
            other.is_default = False
            session.add(other)


async def _check_identifier(
    session: AsyncSession, environment_id: str, identifier: str, exclude: str | None
) -> None:
    found = await _by_identifier(session, environment_id, identifier)
    if found is not None and found.id != exclude:
        raise LayoutError(
            f"Layout with identifier: {identifier} already exists under environment {environment_id}"
        )


async def create_layout(*, session: AsyncSession, environment_id: str, fields: dict[str, Any]) -> Layout:
    check_content(fields["content"])
    await _check_identifier(session, environment_id, fields["identifier"], None)
    row = Layout(environment_id=environment_id, **fields)
    session.add(row)
    await session.flush()
    if row.is_default:
        await _unset_defaults(session, environment_id, row.id)
        await session.flush()
    return row


async def list_layouts(
    *, session: AsyncSession, environment_id: str, page: int, page_size: int, descending: bool = True
) -> tuple[list[Layout], int]:
    total = int(
        (
            await session.exec(
                select(func.count())
                .select_from(Layout)
                .where(Layout.environment_id == environment_id, col(Layout.deleted).is_(False))
            )
        ).one()
    )
    order = col(Layout.created_at).desc() if descending else col(Layout.created_at).asc()
    rows = (
        await session.exec(_live(environment_id).order_by(order).offset(page * page_size).limit(page_size))
    ).all()
    return list(rows), total


async def update_layout(*, session: AsyncSession, row: Layout, changes: dict[str, Any]) -> Layout:
    if changes.get("content") is not None:
        check_content(changes["content"])
    if changes.get("identifier") and changes["identifier"] != row.identifier:
        await _check_identifier(session, row.environment_id, changes["identifier"], row.id)
    if changes.get("is_default") is False and row.is_default:
        raise LayoutError("One default layout is required")
    for key, value in changes.items():
        if value is not None:
            setattr(row, key, value)
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    if row.is_default:
        await _unset_defaults(session, row.environment_id, row.id)
        await session.flush()
    return row


async def layout_in_use(*, session: AsyncSession, environment_id: str, layout_id: str) -> bool:
    """Whether a live workflow has a step whose template names this layout."""
    stmt = select(WorkflowDefinition.steps).where(
        WorkflowDefinition.environment_id == environment_id, col(WorkflowDefinition.deleted).is_(False)
    )
    rows = (await session.exec(stmt)).all()
    return any(step_layout_id(step) == layout_id for steps in rows for step in steps or [])


async def delete_layout(*, session: AsyncSession, row: Layout) -> None:
    if row.is_default:
        raise LayoutError(
            f"Layout with id {row.id} is being used as your default layout, so it can not be deleted"
        )
    if await layout_in_use(session=session, environment_id=row.environment_id, layout_id=row.id):
        raise LayoutError(f"Layout with id {row.id} is being used so it can not be deleted")
    row.deleted = True
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()


async def set_default(*, session: AsyncSession, row: Layout) -> None:
    row.is_default = True
    row.updated_at = utcnow()
    session.add(row)
    await _unset_defaults(session, row.environment_id, row.id)
    await session.flush()


async def layout_for_email(
    *, session: AsyncSession, environment_id: str, layout_id: str | None, identifier: str | None
) -> tuple[Layout | None, str | None]:
    """The layout an email renders in: ``overrides.layoutIdentifier``, else the step's, else the default.

    Returns the layout and, when a named one is missing, what was asked for.
    """
    missing = None
    if identifier:
        found = await _by_identifier(session, environment_id, identifier)
        if found is not None:
            return found, None
        missing = identifier
    if layout_id:
        found = await get_layout(session=session, environment_id=environment_id, layout_id=layout_id)
        if found is not None:
            return found, missing
        missing = missing or layout_id
    return await _default(session, environment_id), missing
