"""Subscribers, preferences and the inbox through the official clients, over real HTTP (``live_api``)."""

from __future__ import annotations

import asyncio
import base64
import json

from novu.api import EventApi, SubscriberApi
from novu.dto.subscriber import SubscriberDto
from novu.enums import Channel
from novu.enums.message import MarkAsEnum
from novu_py import Novu
from novu_py.utils import BackoffStrategy, RetryConfig

from tests.integration.test_subscribers import add_integration
from tests.support import Stack, eventually


def novu_py(url: str, key: str) -> Novu:
    return Novu(
        secret_key=key, server_url=url, retry_config=RetryConfig("none", BackoffStrategy(1, 1, 1, 1), False)
    )


async def test_novu_python_sdk(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    subscribers = SubscriberApi(url=live_api, api_key=env.key)
    events = EventApi(url=live_api, api_key=env.key)

    created = await asyncio.to_thread(
        subscribers.create, SubscriberDto(subscriber_id="sdk-1", email="sdk1@example.com", first_name="Sid")
    )
    assert created.subscriber_id == "sdk-1" and created.email == "sdk1@example.com"
    put = await asyncio.to_thread(
        subscribers.put, SubscriberDto(subscriber_id="sdk-1", email="sdk1@example.com", first_name="Sidney")
    )
    assert put.first_name == "Sidney"
    listed = await asyncio.to_thread(subscribers.list)
    assert [s.subscriber_id for s in listed.data] == ["sdk-1"]

    await add_integration(stack, env, "slack", "chat")
    with_creds = await asyncio.to_thread(
        subscribers.credentials, "sdk-1", "slack", webhook_url="https://hooks.example/sdk"
    )
    assert with_creds.subscriber_id == "sdk-1"
    online = await asyncio.to_thread(subscribers.online_status, "sdk-1", True)
    assert online.is_online is True

    prefs = await asyncio.to_thread(lambda: list(subscribers.preferences("sdk-1")))
    welcome = next(p for p in prefs if p.template.name == "Welcome")
    changed = await asyncio.to_thread(
        subscribers.change_channel_preference, "sdk-1", welcome.template._id, Channel.EMAIL, False
    )
    assert changed.preference.channels.email is False and changed.preference.channels.in_app is True

    event = await asyncio.to_thread(
        events.trigger, "welcome", "sdk-1", {"name": "Sid"}, transaction_id="sdk-tx-1"
    )
    assert event.acknowledged is True and event.transaction_id == "sdk-tx-1"
    await env.settle("sdk-tx-1")
    assert stack.mailbox.to("sdk1@example.com") == []  # email is off for this subscriber

    assert await asyncio.to_thread(subscribers.unseen_notifications, "sdk-1") == 1
    message_id = (await env.feed("sdk-1"))["data"][0]["_id"]
    marked = await asyncio.to_thread(subscribers.mark_as, "sdk-1", message_id, seen=True)
    assert marked.seen is True
    assert await asyncio.to_thread(subscribers.unseen_notifications, "sdk-1") == 0
    assert await asyncio.to_thread(subscribers.mark_all_as, "sdk-1", MarkAsEnum.READ) == 1

    await asyncio.to_thread(subscribers.delete, "sdk-1")
    assert (await env.http.get("/v1/subscribers/sdk-1")).status_code == 404


async def test_novu_py_v1_calls(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    client = novu_py(live_api, env.key)

    bulk = await asyncio.to_thread(
        client.subscribers.create_bulk,
        bulk_subscriber_create_dto={
            "subscribers": [
                {"subscriber_id": "py-1", "email": "py1@example.com", "first_name": "Py"},
                {"subscriber_id": "py-2"},
            ]
        },
    )
    assert [c.subscriber_id for c in bulk.result.created] == ["py-1", "py-2"]
    assert bulk.result.updated == [] and bulk.result.failed == []

    await add_integration(stack, env, "slack", "chat")
    creds = await asyncio.to_thread(
        client.subscribers.credentials.update,
        subscriber_id="py-1",
        update_subscriber_channel_request_dto={
            "provider_id": "slack",
            "credentials": {"webhook_url": "https://hooks.example/py"},
        },
    )
    assert creds.result.subscriber_id == "py-1"
    assert (await env.http.get("/v1/subscribers/py-1")).json()["data"]["channels"][0]["credentials"] == {
        "webhookUrl": "https://hooks.example/py"
    }
    online = await asyncio.to_thread(
        client.subscribers.properties.update_online_flag,
        subscriber_id="py-1",
        update_subscriber_online_flag_request_dto={"is_online": False},
    )
    assert online.result.subscriber_id == "py-1"
    assert (await env.http.get("/v1/subscribers/py-1")).json()["data"]["isOnline"] is False

    for i in range(3):
        resp = await env.trigger("welcome", "py-1", {"name": f"Py {i}", "n": i}, transactionId=f"py-tx-{i}")
        assert resp.status_code == 201
    await asyncio.gather(*[env.settle(f"py-tx-{i}") for i in range(3)])

    feed = await asyncio.to_thread(
        client.subscribers.notifications.feed, request={"subscriber_id": "py-1", "page": 0, "limit": 10}
    )
    assert len(feed.result.data) == 3 and feed.result.has_more is False and feed.result.page == 0
    filtered = await asyncio.to_thread(
        client.subscribers.notifications.feed,
        request={
            "subscriber_id": "py-1",
            "payload": base64.b64encode(json.dumps({"n": 1}).encode()).decode(),
        },
    )
    assert [m.content for m in filtered.result.data] == ["Welcome to Tidings, Py 1!"]

    unseen = await asyncio.to_thread(client.subscribers.notifications.unseen_count, subscriber_id="py-1")
    assert unseen.result.count == 3
    first_id = feed.result.data[0].id
    marked = await asyncio.to_thread(
        client.subscribers.messages.mark_all_as,
        subscriber_id="py-1",
        message_mark_as_request_dto={"message_id": first_id, "mark_as": "read"},
    )
    assert [(m.read, m.seen) for m in marked.result] == [(True, True)]
    all_seen = await asyncio.to_thread(
        client.subscribers.messages.mark_all,
        subscriber_id="py-1",
        mark_all_message_as_request_dto={"mark_as": "seen"},
    )
    assert all_seen.result == 2

    async def zero() -> bool:
        res = await asyncio.to_thread(client.subscribers.notifications.unseen_count, subscriber_id="py-1")
        return res.result.count == 0

    await eventually(zero)
