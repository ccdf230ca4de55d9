"""``/v2/subscribers/{id}/notifications`` through the real novu-py 3.19: the v1 feed's rows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from novu_py import models

from tests.clients.test_sdk_v2_subscribers import call, invalid, novu_v2
from tests.support import Env, Stack


async def deliver(env: Env, subscriber_id: str, count: int) -> None:
    for i in range(count):
        resp = await env.trigger(
            "welcome", subscriber_id, {"name": f"N{i}"}, transactionId=f"{subscriber_id}-tx-{i}"
        )
        assert resp.status_code == 201, resp.text
        # One at a time, so creation order (newest first) is unambiguous.
        await env.settle(f"{subscriber_id}-tx-{i}")


async def test_list_change_and_bulk(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    await call(
        novu.subscribers.create,
        create_subscriber_request_dto={"subscriber_id": "nia", "first_name": "Nia", "email": "nia@x.io"},
    )
    await deliver(env, "nia", 3)
    notes = novu.subscribers.notifications

    async def listed(**request: Any) -> models.GetSubscriberNotificationsResponseDto:
        return (await call(notes.list, request={"subscriber_id": "nia", **request})).result

    everything = await listed()
    assert [n.body for n in everything.data] == [f"Welcome to Tidings, N{i}!" for i in (2, 1, 0)]
    first = everything.data[0]
    assert first.to.subscriber_id == "nia" and first.channel_type == "in_app" and first.is_read is False
    assert first.workflow is not None and first.workflow.identifier == "welcome"
    assert everything.has_more is False

    page = await listed(limit=2)
    assert len(page.data) == 2 and page.has_more is True
    rest = await listed(limit=2, after=page.data[-1].id)
    assert [n.body for n in rest.data] == ["Welcome to Tidings, N0!"] and rest.has_more is False
    assert [n.id for n in (await listed(offset=1, limit=1)).data] == [everything.data[1].id]

    read = (await call(notes.mark_as_read, subscriber_id="nia", notification_id=first.id)).result
    assert read.is_read is True and read.is_seen is True and read.read_at
    v1_feed = (await env.feed("nia"))["data"]
    assert next(m for m in v1_feed if m["_id"] == first.id)["read"] is True  # the same row
    unread = (await call(notes.mark_as_unread, subscriber_id="nia", notification_id=first.id)).result
    assert unread.is_read is False

    second = everything.data[1].id
    archived = (await call(notes.archive, subscriber_id="nia", notification_id=second)).result
    assert archived.is_archived is True
    assert [n.id for n in (await listed(archived=True)).data] == [second]
    assert len((await listed(archived=False)).data) == 2
    assert (
        await call(notes.unarchive, subscriber_id="nia", notification_id=second)
    ).result.is_archived is False

    counts = (
        await call(
            notes.count,
            subscriber_id="nia",
            filters=json.dumps([{"read": False}, {"read": True}, {"seen": False}, {}]),
        )
    ).result
    assert [c.count for c in counts] == [2, 1, 1, 3]
    assert counts[0].filter_ == {"read": False}

    await call(
        notes.mark_as_seen,
        subscriber_id="nia",
        mark_subscriber_notifications_as_seen_dto={"notification_ids": [everything.data[2].id]},
    )
    unseen = (await env.http.get("/v1/subscribers/nia/notifications/unseen")).json()["data"]["count"]
    assert unseen == 0

    await call(notes.mark_all_as_read, subscriber_id="nia", update_all_subscriber_notifications_dto={})
    assert all(n.is_read for n in (await listed()).data)
    await call(notes.archive_all_read, subscriber_id="nia", update_all_subscriber_notifications_dto={})
    assert len((await listed(archived=True)).data) == 3

    await call(notes.delete, subscriber_id="nia", notification_id=first.id)
    assert first.id not in [n.id for n in (await listed()).data]
    assert first.id not in [m["_id"] for m in (await env.feed("nia"))["data"]]
    await call(notes.delete_all, subscriber_id="nia", update_all_subscriber_notifications_dto={})
    assert (await listed()).data == []
    assert (await env.feed("nia"))["data"] == []


async def test_archive_all_and_filters(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    await call(novu.subscribers.create, create_subscriber_request_dto={"subscriber_id": "ola"})
    await deliver(env, "ola", 2)
    notes = novu.subscribers.notifications
    none_high = (await call(notes.list, request={"subscriber_id": "ola", "severity": ["high"]})).result
    assert none_high.data == []
    with_none = (
        await call(notes.list, request={"subscriber_id": "ola", "severity": ["none", "high"]})
    ).result
    assert len(with_none.data) == 2
    assert (await call(notes.list, request={"subscriber_id": "ola", "snoozed": True})).result.data == []
    in_future = (
        await call(notes.list, request={"subscriber_id": "ola", "created_gte": 4_102_444_800_000})
    ).result
    assert in_future.data == []
    await call(notes.archive_all, subscriber_id="ola", update_all_subscriber_notifications_dto={})
    after = (await call(notes.list, request={"subscriber_id": "ola"})).result
    assert [n.is_archived for n in after.data] == [True, True]


async def test_bad_input_and_isolation(stack: Stack, live_api: str) -> None:
    owner, other = await stack.new_env(), await stack.new_env()
    mine, theirs = novu_v2(live_api, owner.key), novu_v2(live_api, other.key)
    await call(mine.subscribers.create, create_subscriber_request_dto={"subscriber_id": "pia"})
    await deliver(owner, "pia", 1)
    note_id = (
        (await call(mine.subscribers.notifications.list, request={"subscriber_id": "pia"})).result.data[0].id
    )

    with pytest.raises(models.ErrorDto) as err:
        await call(mine.subscribers.notifications.list, request={"subscriber_id": "ghost"})
    assert err.value.raw_response.status_code == 404
    with pytest.raises(models.ErrorDto) as err:
        await call(mine.subscribers.notifications.mark_as_read, subscriber_id="pia", notification_id="0" * 24)
    assert err.value.raw_response.status_code == 404
    with pytest.raises(models.ValidationErrorDto) as bad:
        await call(mine.subscribers.notifications.list, request={"subscriber_id": "pia", "limit": 101})
    assert invalid(bad.value) == ["limit must not be greater than 100"]
    with pytest.raises(models.ValidationErrorDto) as bad:
        await call(mine.subscribers.notifications.count, subscriber_id="pia", filters="not json")
    assert invalid(bad.value) == ["filters must be a JSON array of filter objects"]
    with pytest.raises(models.ValidationErrorDto) as bad:
        await call(mine.subscribers.notifications.list, request={"subscriber_id": "pia", "data": "[1]"})
    assert invalid(bad.value) == ["data must be a JSON object string"]

    # The other environment reaches neither the subscriber nor the notification.
    notes = theirs.subscribers.notifications
    for op, kwargs in (
        (notes.mark_as_read, {"notification_id": note_id}),
        (notes.archive, {"notification_id": note_id}),
        (notes.delete, {"notification_id": note_id}),
        (notes.count, {"filters": "[{}]"}),
        (notes.delete_all, {"update_all_subscriber_notifications_dto": {}}),
        (notes.mark_all_as_read, {"update_all_subscriber_notifications_dto": {}}),
    ):
        with pytest.raises(models.ErrorDto) as err:
            await call(op, subscriber_id="pia", **kwargs)
        assert err.value.raw_response.status_code == 404
    # Their own subscriber of the same id cannot touch ours either.
    await call(theirs.subscribers.create, create_subscriber_request_dto={"subscriber_id": "pia"})
    with pytest.raises(models.ErrorDto):
        await call(notes.mark_as_read, subscriber_id="pia", notification_id=note_id)
    await call(notes.delete_all, subscriber_id="pia", update_all_subscriber_notifications_dto={})
    mine_left = (await call(mine.subscribers.notifications.list, request={"subscriber_id": "pia"})).result
    assert [n.id for n in mine_left.data] == [note_id] and mine_left.data[0].is_read is False


async def test_snooze_and_actions_through_novu_py(stack: Stack, live_api: str) -> None:
    """Snooze/unsnooze and completing/reverting actions: the Inbox's state, seen by v2 lists and the Inbox."""
    from datetime import UTC, datetime, timedelta

    from tests.inbox_support import BUTTONS, in_app_workflow, open_session

    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    await in_app_workflow(stack, env, cta=BUTTONS)
    await call(novu.subscribers.create, create_subscriber_request_dto={"subscriber_id": "oli"})
    resp = await env.trigger("comment", "oli", {"name": "Oli"}, transactionId="v2-snooze-1")
    assert resp.status_code == 201
    await env.settle("v2-snooze-1")
    notes = novu.subscribers.notifications
    [first] = (await call(notes.list, request={"subscriber_id": "oli"})).result.data

    until = datetime.now(UTC) + timedelta(hours=2)
    snoozed = (
        await call(
            notes.snooze,
            request={
                "subscriber_id": "oli",
                "notification_id": first.id,
                "snooze_subscriber_notification_dto": {"snooze_until": until},
            },
        )
    ).result
    assert snoozed.is_snoozed is True
    in_snooze = (await call(notes.list, request={"subscriber_id": "oli", "snoozed": True})).result.data
    assert [n.id for n in in_snooze] == [first.id]
    inbox, _ = await open_session(env, "oli")
    assert (await inbox.get("/v1/inbox/notifications", params={"snoozed": "true"})).json()["data"][0][
        "id"
    ] == first.id
    woke = (await call(notes.unsnooze, subscriber_id="oli", notification_id=first.id)).result
    assert woke.is_snoozed is False
    assert (await call(notes.list, request={"subscriber_id": "oli", "snoozed": True})).result.data == []

    done = (
        await call(
            notes.complete_action,
            request={"subscriber_id": "oli", "notification_id": first.id, "action_type": "primary"},
        )
    ).result
    assert done.primary_action is not None and done.primary_action.is_completed is True
    back = (
        await call(
            notes.revert_action,
            request={"subscriber_id": "oli", "notification_id": first.id, "action_type": "primary"},
        )
    ).result
    assert back.primary_action is not None and back.primary_action.is_completed is False
    past = await env.http.patch(
        f"/v2/subscribers/oli/notifications/{first.id}/snooze", json={"snoozeUntil": "2000-01-01T00:00:00Z"}
    )
    assert past.status_code in (400, 422) and "future" in past.text
    other = await stack.new_env()
    stolen = await other.http.patch(f"/v2/subscribers/oli/notifications/{first.id}/actions/primary/complete")
    assert stolen.status_code == 404
