"""What a trigger left behind, as the user looks at it: messages, the activity feed, execution details."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import utcnow
from store.message_events import MAX_IDS, MessageChange, announce
from store.models import ExecutionDetail, Message, Notification, Subscriber, WorkflowDefinition


async def list_messages(
    *,
    session: AsyncSession,
    environment_id: str,
    page: int,
    limit: int,
    channel: str | None = None,
    subscriber_id: str | None = None,
    transaction_ids: list[str] | None = None,
) -> tuple[list[Message], int]:
    """A page of live messages, newest first, and how many match (``subscriber_id`` is internal)."""
    where: list[Any] = [Message.environment_id == environment_id, col(Message.deleted).is_(False)]
    if channel:
        where.append(Message.channel == channel)
    if subscriber_id:
        where.append(Message.subscriber_id == subscriber_id)
    if transaction_ids:
        where.append(col(Message.transaction_id).in_(transaction_ids))
    total = (await session.exec(select(func.count()).select_from(Message).where(*where))).one()
    stmt = (
        select(Message)
        .where(*where)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .offset(page * limit)
        .limit(limit)
    )
    return list((await session.exec(stmt)).all()), int(total)


async def _announce_deleted(session: AsyncSession, environment_id: str, where: list[Any]) -> None:
    """Tell the in-app subscribers' sockets which of their messages are about to be deleted."""
    stmt = select(Message.subscriber_id, Message.id).where(*where, col(Message.channel) == "in_app")
    by_subscriber: dict[str, list[str]] = {}
    for subscriber_id, message_id in (await session.exec(stmt)).all():
        by_subscriber.setdefault(subscriber_id, []).append(message_id)
    changes = [
        MessageChange(environment_id, subscriber_id, "deleted", ids if len(ids) <= MAX_IDS else None)
        for subscriber_id, ids in sorted(by_subscriber.items())
    ]
    await announce(session=session, changes=changes)


async def delete_message(*, session: AsyncSession, environment_id: str, message_id: str) -> bool:
    """Soft-delete one message; False when there is no such live message in the environment."""
    where = [
        col(Message.environment_id) == environment_id,
        col(Message.id) == message_id,
        col(Message.deleted).is_(False),
    ]
    await _announce_deleted(session, environment_id, where)
    stmt = update(Message).where(*where).values(deleted=True, updated_at=utcnow())
    result = await session.exec(stmt)  # type: ignore[call-overload]
    return bool(result.rowcount)


async def delete_transaction_messages(
    *, session: AsyncSession, environment_id: str, transaction_id: str, channel: str | None = None
) -> int:
    where = [
        col(Message.environment_id) == environment_id,
        col(Message.transaction_id) == transaction_id,
        col(Message.deleted).is_(False),
    ]
    if channel:
        where.append(col(Message.channel) == channel)
    await _announce_deleted(session, environment_id, where)
    stmt = update(Message).where(*where)
    result = await session.exec(stmt.values(deleted=True, updated_at=utcnow()))  # type: ignore[call-overload]
    return int(result.rowcount or 0)


async def subscribers_by_id(*, session: AsyncSession, ids: list[str]) -> dict[str, Subscriber]:
    if not ids:
        return {}
    rows = (await session.exec(select(Subscriber).where(col(Subscriber.id).in_(ids)))).all()
    return {s.id: s for s in rows}


async def internal_subscriber_ids(
    *, session: AsyncSession, environment_id: str, external_ids: list[str]
) -> list[str]:
    stmt = select(Subscriber.id).where(
        Subscriber.environment_id == environment_id, col(Subscriber.subscriber_id).in_(external_ids)
    )
    return list((await session.exec(stmt)).all())


async def subscriber_ids_by_email(
    *, session: AsyncSession, environment_id: str, emails: list[str]
) -> list[str]:
    stmt = select(Subscriber.id).where(
        Subscriber.environment_id == environment_id, col(Subscriber.email).in_(emails)
    )
    return list((await session.exec(stmt)).all())


async def list_notifications(
    *,
    session: AsyncSession,
    environment_id: str,
    page: int,
    page_size: int,
    channels: list[str] | None = None,
    workflow_ids: list[str] | None = None,
    subscriber_ids: list[str] | None = None,
    transaction_id: str | None = None,
) -> list[Notification]:
    """A page of the activity feed, newest first (``subscriber_ids`` are internal)."""
    stmt = select(Notification).where(Notification.environment_id == environment_id)
    if workflow_ids:
        stmt = stmt.where(col(Notification.workflow_id).in_(workflow_ids))
    if subscriber_ids is not None:
        stmt = stmt.where(col(Notification.subscriber_id).in_(subscriber_ids))
    if transaction_id:
        stmt = stmt.where(Notification.transaction_id == transaction_id)
    if channels:
        has_channel = (
            select(Message.id)
            .where(
                Message.environment_id == environment_id,
                Message.transaction_id == Notification.transaction_id,
                Message.subscriber_id == Notification.subscriber_id,
                col(Message.channel).in_(channels),
            )
            .exists()
        )
        stmt = stmt.where(has_channel)
    stmt = (
        stmt.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .offset(page * page_size)
        .limit(page_size)
    )
    return list((await session.exec(stmt)).all())


async def workflows_by_id(*, session: AsyncSession, ids: list[str]) -> dict[str, WorkflowDefinition]:
    if not ids:
        return {}
    rows = (await session.exec(select(WorkflowDefinition).where(col(WorkflowDefinition.id).in_(ids)))).all()
    return {w.id: w for w in rows}


async def details_for_notifications(
    *, session: AsyncSession, environment_id: str, notifications: list[Notification]
) -> list[ExecutionDetail]:
    """Execution details of these (transaction, subscriber) pairs, oldest first."""
    if not notifications:
        return []
    stmt = (
        select(ExecutionDetail)
        .where(
            ExecutionDetail.environment_id == environment_id,
            col(ExecutionDetail.transaction_id).in_({n.transaction_id for n in notifications}),
            col(ExecutionDetail.subscriber_id).in_({n.subscriber_id for n in notifications}),
        )
        .order_by(col(ExecutionDetail.created_at), col(ExecutionDetail.id))
    )
    return list((await session.exec(stmt)).all())


async def get_notification(
    *, session: AsyncSession, environment_id: str, notification_id: str
) -> Notification | None:
    stmt = select(Notification).where(
        Notification.environment_id == environment_id, Notification.id == notification_id
    )
    return (await session.exec(stmt)).first()


async def execution_details(
    *,
    session: AsyncSession,
    environment_id: str,
    transaction_id: str,
    subscriber_id: str | None = None,
    include_transaction_level: bool = True,
) -> list[ExecutionDetail]:
    """Details of a transaction: one subscriber's (plus, optionally, those about the whole transaction)."""
    stmt = select(ExecutionDetail).where(
        ExecutionDetail.environment_id == environment_id, ExecutionDetail.transaction_id == transaction_id
    )
    if subscriber_id is not None:
        mine = col(ExecutionDetail.subscriber_id) == subscriber_id
        stmt = stmt.where(
            mine | col(ExecutionDetail.subscriber_id).is_(None) if include_transaction_level else mine
        )
    stmt = stmt.order_by(col(ExecutionDetail.created_at), col(ExecutionDetail.id))
    return list((await session.exec(stmt)).all())


async def transaction_counts(
    *, session: AsyncSession, environment_id: str, transaction_id: str
) -> dict[str, int]:
    """Notifications opened and messages recorded so far for one transaction."""
    notifications = (
        await session.exec(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.environment_id == environment_id, Notification.transaction_id == transaction_id
            )
        )
    ).one()
    messages = (
        await session.exec(
            select(func.count())
            .select_from(Message)
            .where(Message.environment_id == environment_id, Message.transaction_id == transaction_id)
        )
    ).one()
    return {"notifications": int(notifications), "messages": int(messages)}
