"""The official PyPI `novu` SDK, unmodified, pointed at Tidings over real HTTP."""

from __future__ import annotations

import asyncio

from novu.api import EventApi, SubscriberApi
from novu.dto.subscriber import SubscriberDto

from tests.support import Stack


async def test_novu_sdk_trigger_and_subscriber(live_api: str, stack: Stack) -> None:
    env = await stack.new_env()
    subscribers = SubscriberApi(url=live_api, api_key=env.key)
    events = EventApi(url=live_api, api_key=env.key)

    created = await asyncio.to_thread(
        subscribers.create,
        SubscriberDto(
            subscriber_id="sdk-user", email="sdk@example.com", first_name="Grace", last_name="Hopper"
        ),
    )
    assert created.subscriber_id == "sdk-user" and created.email == "sdk@example.com"

    result = await asyncio.to_thread(
        events.trigger, "welcome", "sdk-user", {"name": "Grace"}, transaction_id="sdk-tx-1"
    )
    assert (
        result.acknowledged is True and result.status == "processed" and result.transaction_id == "sdk-tx-1"
    )

    await env.settle("sdk-tx-1")
    fetched = await asyncio.to_thread(subscribers.get, "sdk-user")
    assert fetched.first_name == "Grace"
    assert [m["content"] for m in (await env.feed("sdk-user"))["data"]] == ["Welcome to Tidings, Grace!"]
    mails = await stack.mailbox.wait_for(1, "sdk@example.com")
    assert mails[0]["Subject"] == "Welcome to Tidings, Grace"


async def test_novu_py_trigger(live_api: str, stack: Stack) -> None:
    from novu_py import Novu
    from novu_py.utils import BackoffStrategy, RetryConfig

    env = await stack.new_env()
    client = Novu(
        secret_key=env.key,
        server_url=live_api,
        retry_config=RetryConfig("none", BackoffStrategy(1, 1, 1, 1), False),
    )
    response = await asyncio.to_thread(
        client.trigger,
        trigger_event_request_dto={
            "workflow_id": "welcome",
            "to": "py-user",
            "payload": {"name": "Linus"},
            "transaction_id": "novu-py-tx",
        },
    )
    assert response.result.status == "processed" and response.result.transaction_id == "novu-py-tx"
    await env.settle("novu-py-tx")
    assert [m["content"] for m in (await env.feed("py-user"))["data"]] == ["Welcome to Tidings, Linus!"]
