"""The invariant rules at the data layer, on real PostgreSQL and without Temporal: the fast test selection
``make mutation`` runs against digests (claim, lock, cancel) and preferences (layering, filtering)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from activities.preferences import (
    GLOBAL_FILTERED,
    WORKFLOW_FILTERED,
    filter_by_preferences,
    workflow_channel_enabled,
)
from store import digests
from store.db import Database
from store.models import Environment, Organization, Subscriber, SubscriberPreference
from store.preferences import merge_channels

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    yield database
    async with database.session() as session:
        await session.exec(
            text(
                "TRUNCATE digest_events, cancelled_transactions, subscriber_preferences, subscribers, environments, organizations CASCADE"
            )
        )  # type: ignore[call-overload]
    await database.dispose()


async def add_event(db: Database, tx: str, acc: str = "acc", status: str = "pending", **extra: Any) -> None:
    async with db.session() as session:
        await digests.add_events(
            db=db,
            session=session,
            rows=[
                {
                    "environment_id": extra.pop("env", "e1"),
                    "transaction_id": tx,
                    "subscriber_id": extra.pop("sub", "s1"),
                    "step_id": extra.pop("step", "digest"),
                    "accumulator_id": acc,
                    "payload": {"tx": tx},
                    "run": {},
                    "status": status,
                    "created_at": extra.pop("at", T0),
                }
            ],
        )


async def statuses(db: Database) -> dict[str, tuple[str, str | None]]:
    async with db.session() as session:
        rows = (await session.exec(text("select transaction_id, status, fired_by from digest_events"))).all()  # type: ignore[call-overload]
    return {tx: (status, fired_by) for tx, status, fired_by in rows}


# -- digests -------------------------------------------------------------------------------------


def test_accumulator_id_is_stable_and_separates_keys() -> None:
    base = {"environment_id": "e", "definition_id": "w", "step_id": "d", "subscriber_id": "s"}
    a = digests.accumulator_id(**base, key_value="a")
    # Pinned: a release that changed the ID would split windows that are open while it deploys
    # (new events would start a second accumulator next to the running one).
    assert a == "digest:e:w:d:s:ac8d8342bbb2362d13f0"
    assert digests.accumulator_id(**base, key_value=None) == "digest:e:w:d:s:74234e98afe7498fb5da"
    assert a == digests.accumulator_id(**base, key_value="a")
    assert a.startswith("digest:e:w:d:s:")
    assert (
        len(
            {a, digests.accumulator_id(**base, key_value="b"), digests.accumulator_id(**base, key_value=None)}
        )
        == 3
    )
    assert digests.accumulator_id(**base, key_value={"x": 1, "y": 2}) == digests.accumulator_id(
        **base, key_value={"y": 2, "x": 1}
    )


def test_subscriber_key_is_pinned() -> None:
    """Both ways into a digest (the front door, a trigger's execution) and every release must name the
    subscriber's accumulator alike, or a window open while a release deploys splits in two."""
    assert digests.subscriber_key("ada") == "sfdee430d40bd57deeac1"
    assert digests.subscriber_key("bob") != digests.subscriber_key("ada")


async def test_members_are_read_for_their_own_environment_step_and_subscriber(db: Database) -> None:
    await add_event(db, "a")  # environment e1, step "digest", subscriber s1
    await add_event(db, "a", env="e2")
    await add_event(db, "a", sub="s2")
    await add_event(db, "a", step="other")
    await add_event(db, "b", env="e2")
    async with db.session() as session:
        found = await digests.members(
            session=session,
            environment_id="e1",
            step_id="digest",
            subscriber_id="s1",
            transaction_ids=["a", "b"],
        )
    assert list(found) == ["a"]
    assert (found["a"].environment_id, found["a"].step_id, found["a"].subscriber_id) == ("e1", "digest", "s1")


async def test_cancel_marks_are_read_for_their_own_environment(db: Database) -> None:
    await digests.cancel_transaction(db=db, environment_id="e1", transaction_id="mine")
    await digests.cancel_transaction(db=db, environment_id="e2", transaction_id="theirs")
    async with db.session() as session:
        marked = await digests.cancelled_among(
            session=session, environment_id="e1", transaction_ids=["mine", "theirs", "none"]
        )
    assert marked == {"mine"}


async def test_claim_takes_only_pending_events_of_this_accumulator(db: Database) -> None:
    for tx, status in (("p1", "pending"), ("p2", "pending"), ("sk", "skipped"), ("cx", "cancelled")):
        await add_event(db, tx, status=status)
    await add_event(db, "other", acc="acc-2")
    await add_event(db, "fired-before", status="fired")
    async with db.session() as session:
        fired, claimed = await digests.claim_window(
            session=session,
            accumulator_id="acc",
            transaction_ids=["p2", "sk", "cx", "other", "fired-before", "p1"],
            run_key="run-1",
        )
    assert claimed is True
    assert [e.transaction_id for e in fired] == ["p2", "p1"]  # the accumulator's arrival order
    assert await statuses(db) == {
        "p1": ("fired", "run-1"),
        "p2": ("fired", "run-1"),
        "sk": ("skipped", None),
        "cx": ("cancelled", None),
        "other": ("pending", None),
        "fired-before": ("fired", None),
    }


async def test_claim_retried_returns_the_same_events_without_claiming(db: Database) -> None:
    await add_event(db, "a")
    await add_event(db, "b")
    async with db.session() as session:
        first, claimed = await digests.claim_window(
            session=session, accumulator_id="acc", transaction_ids=["a", "b"], run_key="r"
        )
    await add_event(db, "late")
    async with db.session() as session:
        again, claimed_again = await digests.claim_window(
            session=session, accumulator_id="acc", transaction_ids=["a", "b"], run_key="r"
        )
        other, claimed_other = await digests.claim_window(
            session=session, accumulator_id="acc", transaction_ids=["a"], run_key="r2"
        )
        none, claimed_none = await digests.claim_window(
            session=session, accumulator_id="acc", transaction_ids=[], run_key="r3"
        )
    assert claimed and not claimed_again and not claimed_other and not claimed_none
    assert [e.transaction_id for e in again] == [e.transaction_id for e in first] == ["a", "b"]
    assert other == [] and none == []
    assert (await statuses(db))["late"] == ("pending", None)


async def test_claiming_a_single_event_counts_as_claimed(db: Database) -> None:
    await add_event(db, "only")
    async with db.session() as session:
        fired, claimed = await digests.claim_window(
            session=session, accumulator_id="acc", transaction_ids=["only"], run_key="r"
        )
    assert claimed is True and [e.transaction_id for e in fired] == ["only"]


async def test_membership_is_recorded_once(db: Database) -> None:
    await add_event(db, "a", status="fired")
    await add_event(db, "a")  # a retried join
    await add_event(db, "a", sub="s2")
    async with db.session() as session:
        found = await digests.events_of(
            session=session,
            environment_id="e1",
            transaction_id="a",
            step_id="digest",
            subscriber_ids=["s1", "s2", "s3"],
        )
    assert {sid: e.status for sid, e in found.items()} == {"s1": "fired", "s2": "pending"}


async def test_set_status_only_from(db: Database) -> None:
    await add_event(db, "a")
    await add_event(db, "b", status="fired")
    async with db.session() as session:
        rows = await digests.events_of(
            session=session, environment_id="e1", transaction_id="a", step_id="digest", subscriber_ids=["s1"]
        )
        rows_b = await digests.events_of(
            session=session, environment_id="e1", transaction_id="b", step_id="digest", subscriber_ids=["s1"]
        )
        ids = [rows["s1"].id, rows_b["s1"].id]
        await digests.set_status(session=session, ids=ids, status="cancelled", only_from="pending")
        await digests.set_status(session=session, ids=[], status="fired")
    assert {tx: s for tx, (s, _) in (await statuses(db)).items()} == {"a": "cancelled", "b": "fired"}
    async with db.session() as session:
        await digests.set_status(session=session, ids=ids, status="skipped")
    assert {s for s, _ in (await statuses(db)).values()} == {"skipped"}


async def test_recently_active_looks_back_at_other_transactions(db: Database) -> None:
    await add_event(db, "old", acc="a1", at=T0 - timedelta(minutes=10))
    await add_event(db, "recent", acc="a2", at=T0 - timedelta(seconds=30))
    await add_event(db, "self", acc="a3", at=T0)
    await add_event(db, "edge", acc="a4", at=T0 - timedelta(minutes=1))
    async with db.session() as session:
        active = await digests.recently_active(
            session=session,
            accumulator_ids=["a1", "a2", "a3", "a4"],
            since=T0 - timedelta(minutes=1),
            transaction_id="self",
        )
        assert (
            await digests.recently_active(session=session, accumulator_ids=[], since=T0, transaction_id="x")
            == set()
        )
    assert active == {"a2", "a4"}


async def test_cancel_marks_and_takes_out_only_pending_events(db: Database) -> None:
    await add_event(db, "tx", sub="s1")
    await add_event(db, "tx", sub="s2", status="fired")
    await add_event(db, "tx", sub="s3", env="e2")
    await add_event(db, "other", sub="s1")
    assert await digests.cancel_transaction(db=db, environment_id="e1", transaction_id="tx") == 1
    assert await digests.cancel_transaction(db=db, environment_id="e1", transaction_id="tx") == 0
    async with db.session() as session:
        assert await digests.is_cancelled(session=session, environment_id="e1", transaction_id="tx")
        assert not await digests.is_cancelled(session=session, environment_id="e2", transaction_id="tx")
        rows = (
            await session.exec(
                text(
                    "select environment_id, transaction_id, subscriber_id, status from digest_events order by 1, 2, 3"
                )
            )
        ).all()  # type: ignore[call-overload]
    assert [tuple(r) for r in rows] == [
        ("e1", "other", "s1", "pending"),
        ("e1", "tx", "s1", "cancelled"),
        ("e1", "tx", "s2", "fired"),
        ("e2", "tx", "s3", "pending"),
    ]


async def test_lock_keys_holds_an_advisory_lock_until_commit(db: Database, pg_url: str) -> None:
    """While one decider holds the keys, another connection cannot take them (checked without waiting)."""
    dsn = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    other = await asyncpg.connect(dsn)
    try:

        async def free(key: str) -> bool:
            async with other.transaction():
                return bool(
                    await other.fetchval("select pg_try_advisory_xact_lock(hashtextextended($1, 0))", key)
                )

        async with db.session() as session:
            await digests.lock_keys(db=db, session=session, keys=["k2", "k1", "k2"])
            assert not await free("k1") and not await free("k2")
            assert await free("k3")
        assert await free("k1") and await free("k2")  # released at commit
    finally:
        await other.close()


# -- preferences ---------------------------------------------------------------------------------


def test_merge_channels_last_setter_wins() -> None:
    values, sources = merge_channels(
        ["in_app", "email", "sms", "push"],
        template={"email": False, "sms": False},
        override={"sms": True, "push": False},
        subscriber={"push": True, "in_app": None},
    )
    assert values == {"in_app": True, "email": False, "sms": True, "push": True}
    assert sources == [
        {"channel": "in_app", "source": "template"},
        {"channel": "email", "source": "template"},
        {"channel": "sms", "source": "workflowOverride"},
        {"channel": "push", "source": "subscriber"},
    ]
    assert merge_channels(["chat"], template=None) == (
        {"chat": True},
        [{"channel": "chat", "source": "template"}],
    )


@pytest.mark.parametrize(
    ("template", "override", "subscriber", "expected"),
    [
        ({}, None, None, True),
        ({"email": False}, None, None, False),
        ({"email": False}, {"email": True}, None, True),
        ({}, {"email": False}, None, False),
        ({}, {"email": False}, {"email": True}, True),
        ({"email": True}, None, {"email": False}, False),
        ({}, {"sms": False}, None, True),
    ],
)
def test_workflow_channel_enabled_layers(
    template: dict[str, bool],
    override: dict[str, bool] | None,
    subscriber: dict[str, bool] | None,
    expected: bool,
) -> None:
    assert (
        workflow_channel_enabled("email", template=template, override=override, subscriber=subscriber)
        is expected
    )


async def subscribers_with(
    db: Database, prefs: dict[str, list[dict[str, Any]]]
) -> tuple[str, dict[str, str]]:
    """An environment with one subscriber per key of ``prefs`` and those preference rows."""
    org = Organization(name=f"org-{secrets.token_hex(3)}", branding={})
    env = Environment(organization_id=org.id, name="env", identifier=f"env-{secrets.token_hex(4)}")
    subs = {name: Subscriber(environment_id=env.id, subscriber_id=name) for name in prefs}
    async with db.session() as session:
        session.add(org)
        await session.flush()
        session.add(env)
        await session.flush()
        session.add_all(subs.values())
        await session.flush()
        for name, rows in prefs.items():
            for row in rows:
                session.add(SubscriberPreference(environment_id=env.id, subscriber_id=subs[name].id, **row))
    return env.id, {name: s.id for name, s in subs.items()}


async def test_filter_by_preferences_global_then_workflow(db: Database) -> None:
    _, ids = await subscribers_with(
        db,
        {
            "plain": [],
            "global-off": [{"level": "global", "enabled": False}],
            "global-email-off": [{"level": "global", "channels": {"email": False}}],
            "global-sms-off": [{"level": "global", "channels": {"sms": False}}],
            "wf-off": [{"level": "template", "workflow_id": "wf", "enabled": False}],
            "wf-email-off": [{"level": "template", "workflow_id": "wf", "channels": {"email": False}}],
            "other-wf-off": [{"level": "template", "workflow_id": "other", "enabled": False}],
            "wf-email-on": [{"level": "template", "workflow_id": "wf", "channels": {"email": True}}],
        },
    )

    async def blocked(**kwargs: Any) -> dict[str, str]:
        args: dict[str, Any] = {
            "workflow_id": "wf",
            "channel": "email",
            "critical": False,
            "template_settings": {},
        }
        args.update(kwargs)
        async with db.session() as session:
            found = await filter_by_preferences(session=session, subscriber_ids=list(ids.values()), **args)
        names = {v: k for k, v in ids.items()}
        return {names[sid]: why for sid, why in found.items()}

    assert await blocked() == {
        "global-off": GLOBAL_FILTERED,
        "global-email-off": GLOBAL_FILTERED,
        "wf-off": WORKFLOW_FILTERED,
        "wf-email-off": WORKFLOW_FILTERED,
    }
    tenant_off = await blocked(override_settings={"email": False})
    assert set(tenant_off) == set(ids) - {"wf-email-on"}  # the subscriber's own choice still wins
    assert tenant_off["plain"] == WORKFLOW_FILTERED and tenant_off["global-off"] == GLOBAL_FILTERED
    assert set(await blocked(template_settings={"email": False})) == set(ids) - {"wf-email-on"}
    assert await blocked(critical=True) == {}
    assert await blocked(channel="digest") == {}
    assert set(await blocked(channel="sms")) == {"global-off", "global-sms-off", "wf-off"}
    async with db.session() as session:
        assert (
            await filter_by_preferences(
                session=session,
                subscriber_ids=[],
                workflow_id="wf",
                channel="email",
                critical=False,
                template_settings={},
            )
            == {}
        )
