"""The one place every change of an in-app message ends: created by the worker, or marked
seen/read/archived/snoozed/deleted/acted on through the Inbox or the v1 routes.

:func:`message_changed` (one subscriber's change) and :func:`announce` (many at once; the one place both end
in) are called inside the transaction that made the change, so an announcement is
delivered exactly when the change commits and never for a rolled-back one. The hand-over to the API
processes that hold the subscribers' sockets (``api/realtime.py``):

- PostgreSQL: ``pg_notify`` on :data:`PG_CHANNEL` — every API process ``LISTEN``s and delivers to its own
  sockets, so several processes behind a load balancer each reach theirs, with no new service.
- SQLite (``make dev``): a row in ``message_events`` that API processes poll; no external service, and it
  works across the worker/API process boundary on the one database file. Rows are pruned after minutes.

Outbound webhooks on message state (``message.seen``, ``message.read``, ``message.archived``) are emitted here
too, in the same transaction (the webhook outbox, ``store/webhook_events.py``), so every route that changes a
message — v1, v2 or the Inbox — produces them the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiosqlite
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import insert_rows, utcnow
from store.models import MessageEvent

PG_CHANNEL = "tidings_message_events"
EVENTS = frozenset(
    {
        "created",
        "seen",
        "unseen",
        "read",
        "unread",
        "archived",
        "unarchived",
        "snoozed",
        "unsnoozed",
        "deleted",
        "action",
    }
)
#: NOTIFY payloads are limited to 8000 bytes: beyond this many ids a change is announced without them
#: (listeners then only recount, which is all a bulk change needs).
MAX_IDS = 100
EVENT_RETENTION = timedelta(minutes=10)


@dataclass(frozen=True)
class MessageChange:
    environment_id: str
    subscriber_id: str  # the subscriber's internal id (``subscribers.id``)
    event: str
    message_ids: list[str] | None

    def to_json(self) -> str:
        return json.dumps(
            {"e": self.environment_id, "s": self.subscriber_id, "t": self.event, "m": self.message_ids},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str) -> MessageChange:
        data: dict[str, Any] = json.loads(raw)
        return cls(data["e"], data["s"], data["t"], data.get("m"))


async def message_changed(
    *, session: AsyncSession, environment_id: str, subscriber_id: str, event: str, message_ids: list[str]
) -> None:
    """Announce that ``message_ids`` of one subscriber changed by ``event`` (one of :data:`EVENTS`)."""
    ids = list(message_ids) if len(message_ids) <= MAX_IDS else None
    await announce(session=session, changes=[MessageChange(environment_id, subscriber_id, event, ids)])


async def announce(*, session: AsyncSession, changes: list[MessageChange]) -> None:
    """Announce several changes in one statement (a cohort's in-app step creates hundreds at once)."""
    if not changes:
        return
    unknown = {c.event for c in changes} - EVENTS
    if unknown:
        raise ValueError(f"unknown message events {sorted(unknown)}")
    await _webhooks(session, changes)
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p"),
            {"channel": PG_CHANNEL, "payloads": [c.to_json() for c in changes]},
        )
    else:
        now = utcnow()
        await insert_rows(
            session,
            MessageEvent,
            [
                {
                    "environment_id": c.environment_id,
                    "subscriber_id": c.subscriber_id,
                    "event": c.event,
                    "message_ids": c.message_ids,
                    "created_at": now,
                }
                for c in changes
            ],
        )


class SqliteEventReader:
    """The embedded hand-over's reader: its own autocommit connection, so polling never takes the
    write lock every transaction on the engine takes (``BEGIN IMMEDIATE``) — WAL readers block no one."""

    def __init__(self, url: str) -> None:
        self.path = make_url(url).database or ""
        self._conn: aiosqlite.Connection | None = None

    async def __aenter__(self) -> SqliteEventReader:
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def latest(self) -> int:
        assert self._conn is not None
        async with self._conn.execute("SELECT MAX(id) FROM message_events") as cursor:
            row = await cursor.fetchone()
        return int(row[0] or 0) if row else 0

    async def after(self, after_id: int, limit: int = 500) -> list[tuple[int, MessageChange]]:
        """Events newer than ``after_id``, oldest first."""
        assert self._conn is not None
        sql = (
            "SELECT id, environment_id, subscriber_id, event, message_ids FROM message_events "
            "WHERE id > ? ORDER BY id LIMIT ?"
        )
        async with self._conn.execute(sql, (after_id, limit)) as cursor:
            rows = await cursor.fetchall()
        return [
            (int(r[0]), MessageChange(r[1], r[2], r[3], json.loads(r[4]) if r[4] else None)) for r in rows
        ]


async def prune_events(*, session: AsyncSession) -> None:
    """Drop hand-over rows every listener has long since read."""
    cutoff = utcnow() - EVENT_RETENTION
    await session.exec(delete(MessageEvent).where(col(MessageEvent.created_at) < cutoff))  # type: ignore[call-overload]


#: Message state changes that are outbound webhook events.
WEBHOOK_EVENTS = {
    "seen": ["message.seen"],
    "read": ["message.seen", "message.read"],  # reading shows it too, as the routes set both
    "archived": ["message.archived"],
}


async def _webhooks(session: AsyncSession, changes: list[MessageChange]) -> None:
    """``message.seen|read|archived`` for the listed messages (a bulk change of more than :data:`MAX_IDS`
    messages announces no ids, and emits no per-message webhook events)."""
    from sqlmodel import select

    from store.models import Message, Subscriber
    from store.webhook_events import emit_many
    from tidings.webhook_payloads import message_data

    wanted = [c for c in changes if c.event in WEBHOOK_EVENTS and c.message_ids]
    if not wanted:
        return
    ids = [i for c in wanted for i in c.message_ids or []]
    rows = (
        await session.exec(
            select(Message, Subscriber.subscriber_id)
            .join(Subscriber, col(Subscriber.id) == col(Message.subscriber_id))
            .where(col(Message.id).in_(ids))
        )
    ).all()
    found = {m.id: (m, external) for m, external in rows}
    by_env: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for change in wanted:
        for message_id in change.message_ids or []:
            if message_id not in found:
                continue
            m, external = found[message_id]
            data = message_data(
                message_id=m.id,
                transaction_id=m.transaction_id,
                subscriber_id=external,
                workflow=m.template_identifier,
                step_id=m.step_id,
                channel=m.channel,
                provider_id=m.provider_id,
            )
            by_env.setdefault(m.environment_id, []).extend(
                (kind, data) for kind in WEBHOOK_EVENTS[change.event]
            )
    for environment_id, events in by_env.items():
        await emit_many(session, environment_id=environment_id, events=events)
