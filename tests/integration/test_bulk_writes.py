"""The data layer's bulk writes (a fan-out cohort's messages and notifications) keep exactly-once.

PostgreSQL writes a cohort in one ``unnest`` statement with ``ON CONFLICT DO NOTHING RETURNING`` and
reads back only the rows that already existed (a retried activity); SQLite runs the executemany path.
Both must give every subscriber exactly one row, and a retry the ids of the first attempt.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from store.db import Database, insert_ignore
from store.messages import add_details, details_for, record_messages, record_notifications
from store.migrate import upgrade
from store.models import Environment, Message, Organization, Subscriber, SubscriberRecord
from store.subscribers import RECORD_FIELDS, load_subscribers


@pytest.fixture(params=["postgres", "sqlite"])
async def db(request: pytest.FixtureRequest, pg_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "postgres":
        url = pg_url
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'bulk.db'}"
        upgrade(url)
    database = Database(url)
    yield database
    await database.dispose()


async def environment(db: Database) -> str:
    org = Organization(name=f"org-{secrets.token_hex(3)}", branding={})
    env = Environment(organization_id=org.id, name="env", identifier=f"env-{secrets.token_hex(4)}")
    async with db.session() as session:
        session.add(org)
        await session.flush()
        session.add(env)
    return env.id


def message(env_id: str, tx: str, sid: str) -> dict[str, object]:
    return {
        "environment_id": env_id,
        "transaction_id": tx,
        "subscriber_id": sid,
        "step_id": "s1",
        "channel": "in_app",
        "content": f"Hi {sid}",
        "payload": {"name": sid, "nested": {"n": 1}},
        "cta": {"type": "redirect", "data": {}},
        "overrides": {},
        "seen": False,
        "last_seen_date": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }


async def count(db: Database, table: str, env_id: str, tx: str) -> int:
    async with db.session() as session:
        result = await session.exec(  # type: ignore[call-overload]
            text(f"SELECT count(*) FROM {table} WHERE environment_id = :e AND transaction_id = :t"),
            params={"e": env_id, "t": tx},
        )
        return int(result.one()[0])


async def test_a_retried_cohort_writes_nothing_twice_and_gets_the_first_ids(db: Database) -> None:
    env_id = await environment(db)
    tx = f"tx-{secrets.token_hex(3)}"
    first_half = [f"sub-{i:04d}" for i in range(300)]
    second_half = [f"sub-{i:04d}" for i in range(300, 600)]
    async with db.session() as session:
        first = await record_messages(
            db=db, session=session, rows=[message(env_id, tx, s) for s in first_half]
        )
    assert set(first) == set(first_half) and len(set(first.values())) == 300
    # The retry of a cohort whose first attempt stored half of it: old rows keep their ids, new ones appear.
    everyone = first_half + second_half
    async with db.session() as session:
        again = await record_messages(db=db, session=session, rows=[message(env_id, tx, s) for s in everyone])
    assert set(again) == set(everyone)
    assert {s: again[s] for s in first_half} == first
    assert len(set(again.values())) == 600
    assert await count(db, "messages", env_id, tx) == 600
    # A full retry: the same ids, no new rows.
    async with db.session() as session:
        third = await record_messages(db=db, session=session, rows=[message(env_id, tx, s) for s in everyone])
    assert third == again
    assert await count(db, "messages", env_id, tx) == 600


async def test_bulk_rows_keep_their_json_times_and_flags(db: Database) -> None:
    env_id = await environment(db)
    tx = f"tx-{secrets.token_hex(3)}"
    async with db.session() as session:
        ids = await record_messages(db=db, session=session, rows=[message(env_id, tx, s) for s in ("a", "b")])
    async with db.session() as session:
        result = await session.exec(  # type: ignore[call-overload]
            text("SELECT id, payload, seen, last_seen_date, content FROM messages WHERE transaction_id = :t"),
            params={"t": tx},
        )
        rows = {r[0]: r for r in result.all()}
    assert set(rows) == set(ids.values())
    row = rows[ids["b"]]
    payload = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    assert payload == {"name": "b", "nested": {"n": 1}}
    assert row[2] in (False, 0)
    assert str(row[3]).startswith("2026-01-02 03:04:05")
    assert row[4] in ("Hi b", '"Hi b"')


async def test_values_encoded_once_per_cohort_stay_each_rows_own(db: Database) -> None:
    """A cohort's rows share one payload object and the bulk insert encodes it once; values that look
    alike (``True``/``1``/``"1"``) or are equal but distinct objects still keep their own JSON. (Not ``1.0``:
    SQLite's NUMERIC affinity for a ``JSON`` column stores the text ``1.0`` as the integer 1, as before.)"""
    env_id = await environment(db)
    tx = f"tx-{secrets.token_hex(3)}"
    shared = {"name": "Ada", "nested": {"n": 1}}
    data: list[object] = [True, 1, "1", None, {"k": 1}, {"k": 1}, [1], [2]]
    rows = []
    for i, value in enumerate(data):
        row = message(env_id, tx, f"sub-{i}")
        row["payload"], row["data"] = shared, value
        rows.append(row)
    async with db.session() as session:
        ids = await record_messages(db=db, session=session, rows=rows)
    async with db.session() as session:
        stored = {
            m.subscriber_id: m
            for m in (await session.exec(select(Message).where(Message.transaction_id == tx))).all()
        }
    assert {stored[s].id for s in stored} == set(ids.values())
    for i, value in enumerate(data):
        got = stored[f"sub-{i}"]
        assert got.payload == shared
        assert got.data == value and type(got.data) is type(value), (i, got.data, value)


async def test_notifications_once_per_subscriber(db: Database) -> None:
    env_id = await environment(db)
    tx = f"tx-{secrets.token_hex(3)}"
    subs = [f"n-{i}" for i in range(250)]

    def rows(ids: list[str]) -> list[dict[str, object]]:
        return [
            {"environment_id": env_id, "transaction_id": tx, "subscriber_id": s, "workflow_id": "w1"}
            for s in ids
        ]

    async with db.session() as session:
        first = await record_notifications(db=db, session=session, rows=rows(subs[:100]))
    async with db.session() as session:
        again = await record_notifications(db=db, session=session, rows=rows(subs))
    assert {s: again[s] for s in subs[:100]} == first
    assert len(set(again.values())) == 250
    assert await count(db, "notifications", env_id, tx) == 250


async def test_insert_ignore_counts_only_new_rows(db: Database) -> None:
    env_id = await environment(db)
    rows = [Subscriber(environment_id=env_id, subscriber_id=f"x-{i}").model_dump() for i in range(40)]
    conflict = ["environment_id", "subscriber_id"]
    async with db.session() as session:
        assert await insert_ignore(session, Subscriber, rows[:25], conflict=conflict) == 25
    fresh = [Subscriber(environment_id=env_id, subscriber_id=f"x-{i}").model_dump() for i in range(40)]
    async with db.session() as session:
        inserted = await insert_ignore(session, Subscriber, fresh, conflict=conflict)
    if db.url.startswith("postgresql"):  # SQLite's executemany reports no reliable count
        assert inserted == 15
    async with db.session() as session:
        result = await session.exec(  # type: ignore[call-overload]
            text("SELECT count(*) FROM subscribers WHERE environment_id = :e"), params={"e": env_id}
        )
        assert int(result.one()[0]) == 40


async def test_execution_details_of_a_cohort_are_all_stored(db: Database) -> None:
    env_id = await environment(db)
    tx = f"tx-{secrets.token_hex(3)}"
    rows = [
        {
            "environment_id": env_id,
            "transaction_id": tx,
            "subscriber_id": f"d-{i}",
            "step_id": "s1",
            "channel": "in_app",
            "detail": "Message created",
            "raw": {"i": i, "at": datetime(2026, 1, 1, tzinfo=UTC)},
        }
        for i in range(120)
    ]
    async with db.session() as session:
        await add_details(session=session, rows=rows)
    assert await count(db, "execution_details", env_id, tx) == 120
    async with db.session() as session:
        found = await details_for(
            session=session, environment_id=env_id, transaction_id=tx, subscriber_id="d-7"
        )
    assert [(d.detail, d.raw) for d in found] == [
        ("Message created", {"i": 7, "at": "2026-01-01T00:00:00.000Z"})
    ]


async def test_a_cohorts_subscribers_load_as_records_with_every_column(db: Database) -> None:
    """Delivery reads subscribers as plain records: every column, the same values the ORM gives."""
    assert set(RECORD_FIELDS) == set(Subscriber.__table__.columns.keys())  # type: ignore[attr-defined]
    env_id = await environment(db)
    sub = Subscriber(
        environment_id=env_id,
        subscriber_id="ada",
        first_name="Ada",
        email="ada@example.com",
        locale="en_GB",
        data={"plan": "pro", "n": 1},
        channels=[{"providerId": "slack", "credentials": {"webhookUrl": "https://x"}}],
        is_online=True,
        last_online_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    async with db.session() as session:
        session.add(sub)
    async with db.read() as session:
        records = await load_subscribers(session=session, ids=[sub.id, "absent"])
        orm = await session.get(Subscriber, sub.id)
    assert list(records) == [sub.id] and orm is not None
    record = records[sub.id]
    assert isinstance(record, SubscriberRecord)
    assert asdict(record) == {name: getattr(orm, name) for name in RECORD_FIELDS}
