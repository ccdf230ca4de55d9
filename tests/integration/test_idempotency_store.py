"""``Idempotency-Key`` claims (``store/idempotency.py``) on real PostgreSQL, without Temporal: the fast
test selection ``make mutation`` runs against the HTTP-level idempotency guard's data layer.

Expired locks and records are made by claiming with a negative lock or lifetime, never by waiting."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from store import idempotency
from store.db import Database
from store.idempotency import Claim, claim_key, release_key, store_response

HOUR = timedelta(hours=1)
PAST = timedelta(seconds=-1)


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    yield database
    await database.dispose()


@pytest.fixture
def env_id() -> str:
    return f"env-{secrets.token_hex(4)}"


async def claim(
    db: Database, env: str, key: str = "k", body: str = "b1", ttl: timedelta = HOUR, lock: timedelta = HOUR
) -> Claim:
    async with db.session() as session:
        return await claim_key(
            session=session, environment_id=env, key=key, body_hash=body, ttl=ttl, lock=lock
        )


async def done(db: Database, env: str, key: str = "k", status: int = 201, body: str = '{"ok":1}') -> None:
    async with db.session() as session:
        await store_response(
            session=session, environment_id=env, key=key, status_code=status, headers={"x": "1"}, body=body
        )


async def rows(db: Database, env: str) -> list[tuple[str, str, str, int | None]]:
    async with db.session() as session:
        found = (
            await session.exec(  # type: ignore[call-overload]
                text(
                    "select key, state, body_hash, status_code from idempotency_keys "
                    "where environment_id = :e order by key"
                ).bindparams(e=env)
            )
        ).all()
    return [tuple(r) for r in found]


async def test_first_claim_wins_and_a_repeat_in_progress_waits(db: Database, env_id: str) -> None:
    assert (await claim(db, env_id)).outcome == "claimed"
    again = await claim(db, env_id)
    assert again.outcome == "in_progress" and again.record is not None and again.record.key == "k"
    assert (await claim(db, env_id, body="b2")).outcome == "in_progress"  # not judged before it finished
    assert (await claim(db, f"{env_id}-other")).outcome == "claimed"  # one environment never sees another's
    assert (await claim(db, env_id, key="k2")).outcome == "claimed"
    assert await rows(db, env_id) == [("k", "in_progress", "b1", None), ("k2", "in_progress", "b1", None)]


async def test_finished_key_replays_the_same_body_and_refuses_another(db: Database, env_id: str) -> None:
    await claim(db, env_id)
    await claim(db, env_id, key="k2")
    await done(db, env_id)
    replay = await claim(db, env_id)
    assert replay.outcome == "replay" and replay.record is not None
    assert (replay.record.status_code, replay.record.body, replay.record.headers) == (
        201,
        '{"ok":1}',
        {"x": "1"},
    )
    mismatch = await claim(db, env_id, body="b2")
    assert mismatch.outcome == "mismatch" and mismatch.record is not None
    assert (await claim(db, env_id, key="k2")).outcome == "in_progress"  # store_response touched k only
    assert await rows(db, env_id) == [("k", "done", "b1", 201), ("k2", "in_progress", "b1", None)]


async def test_a_claim_whose_holder_died_is_taken_over_once(db: Database, env_id: str) -> None:
    assert (await claim(db, env_id, lock=PAST)).outcome == "claimed"  # its lock has already expired
    assert (await claim(db, env_id, body="b2")).outcome == "claimed"  # taken over, with the new body
    assert await rows(db, env_id) == [("k", "in_progress", "b2", None)]
    held = await claim(db, env_id, body="b2")  # the new holder's lock is an hour long
    assert held.outcome == "in_progress" and held.record is not None


async def test_an_expired_record_is_reused_as_new(db: Database, env_id: str) -> None:
    await claim(db, env_id, ttl=PAST)
    await done(db, env_id)
    assert (await claim(db, env_id, body="b2")).outcome == "claimed"  # neither a replay nor a mismatch
    assert await rows(db, env_id) == [("k", "in_progress", "b2", None)]
    assert (await claim(db, env_id, body="b2")).outcome == "in_progress"


async def test_release_forgets_an_unfinished_claim_only(db: Database, env_id: str) -> None:
    await claim(db, env_id, key="busy")  # another request of the same client, still running
    await claim(db, env_id)
    await claim(db, env_id, key="kept")
    await done(db, env_id, key="kept")
    async with db.session() as session:
        await release_key(session=session, environment_id=env_id, key="k")
        await release_key(session=session, environment_id=env_id, key="kept")
        await release_key(session=session, environment_id=f"{env_id}-other", key="k")
    assert await rows(db, env_id) == [("busy", "in_progress", "b1", None), ("kept", "done", "b1", 201)]
    assert (await claim(db, env_id, key="busy")).outcome == "in_progress"  # still guarded
    assert (await claim(db, env_id)).outcome == "claimed"  # the client's retry runs again
    assert (await claim(db, env_id, key="kept")).outcome == "replay"


async def test_release_leaves_another_environments_claim(db: Database, env_id: str) -> None:
    await claim(db, env_id)
    async with db.session() as session:
        await release_key(session=session, environment_id=f"{env_id}-other", key="k")
    assert await rows(db, env_id) == [("k", "in_progress", "b1", None)]


async def test_sweep_deletes_expired_records_only(
    db: Database, env_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One claim in ``SWEEP_ONE_IN`` deletes expired records; here every claim does (no randomness).

    The expired record is written last, so no claim before the patched one could have swept it (a claim
    sweeps before it inserts): only the patched claim's sweep can remove it."""
    await claim(db, env_id, key="live")
    await done(db, env_id, key="live")
    await claim(db, env_id, key="expired", ttl=PAST)
    assert [r[0] for r in await rows(db, env_id)] == ["expired", "live"]
    monkeypatch.setattr(idempotency, "SWEEP_ONE_IN", 1)
    assert (await claim(db, env_id, key="new")).outcome == "claimed"
    assert [r[0] for r in await rows(db, env_id)] == ["live", "new"]
    assert (await claim(db, env_id, key="live")).outcome == "replay"
