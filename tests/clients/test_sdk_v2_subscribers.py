"""``/v2/subscribers`` through the real novu-py 3.19 over HTTP (``live_api``), on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from novu_py import Novu, models
from novu_py.utils import BackoffStrategy, RetryConfig

from tests.support import Stack


def novu_v2(url: str, key: str) -> Novu:
    """novu-py with retries off, so a refused request fails the test at once."""
    return Novu(
        secret_key=key, server_url=url, retry_config=RetryConfig("none", BackoffStrategy(1, 1, 1, 1), False)
    )


async def call(fn: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, **kwargs)


def invalid(err: models.ValidationErrorDto) -> list[str]:
    """The messages of Novu's 422 validation answer (``errors.general.messages``)."""
    assert err.raw_response.status_code == 422 and err.data.message == "Validation Error"
    return list(err.data.errors["general"].messages)


async def test_create_retrieve_patch_delete(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    created = await call(
        novu.subscribers.create,
        create_subscriber_request_dto={
            "subscriber_id": "v2-ada",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "locale": "en_GB",
            "timezone": "Europe/London",
            "data": {"plan": "pro"},
        },
    )
    sub = created.result
    assert (sub.subscriber_id, sub.first_name, sub.timezone, sub.locale) == (
        "v2-ada",
        "Ada",
        "Europe/London",
        "en_GB",
    )
    assert sub.data == {"plan": "pro"} and sub.environment_id and sub.organization_id

    # The same row the v1 routes see.
    v1 = (await env.http.get("/v1/subscribers/v2-ada")).json()["data"]
    assert v1["email"] == "ada@example.com" and v1["data"] == {"plan": "pro"}

    got = await call(novu.subscribers.retrieve, subscriber_id="v2-ada")
    assert got.result.email == "ada@example.com"

    # Upsert: a second create updates the fields given, keeps the others.
    again = await call(
        novu.subscribers.create,
        create_subscriber_request_dto={"subscriber_id": "v2-ada", "first_name": "Augusta"},
    )
    assert again.result.first_name == "Augusta" and again.result.last_name == "Lovelace"

    patched = await call(
        novu.subscribers.patch,
        subscriber_id="v2-ada",
        patch_subscriber_request_dto={"last_name": None, "phone": "+15550100", "data": {"plan": "team"}},
    )
    assert not isinstance(patched.result.last_name, str) and patched.result.phone == "+15550100"
    assert patched.result.data == {"plan": "team"} and patched.result.first_name == "Augusta"
    v1 = (await env.http.get("/v1/subscribers/v2-ada")).json()["data"]
    assert "lastName" not in v1 and v1["phone"] == "+15550100"

    removed = await call(novu.subscribers.delete, subscriber_id="v2-ada")
    assert removed.result.acknowledged is True and removed.result.status == "deleted"
    assert (await env.http.get("/v1/subscribers/v2-ada")).status_code == 404


async def test_fail_if_exists_conflict(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    body = {"subscriber_id": "dup", "first_name": "One"}
    first = await call(novu.subscribers.create, create_subscriber_request_dto=body, fail_if_exists=True)
    assert first.result.first_name == "One"
    with pytest.raises(models.SubscriberResponseDtoError) as err:
        await call(
            novu.subscribers.create,
            create_subscriber_request_dto={"subscriber_id": "dup", "first_name": "Two"},
            fail_if_exists=True,
        )
    assert err.value.raw_response.status_code == 409
    assert err.value.data.subscriber_id == "dup" and err.value.data.first_name == "One"
    body409 = err.value.raw_response.json()
    assert body409["statusCode"] == 409 and "already exists" in body409["message"]
    # Nothing was overwritten.
    assert (await env.http.get("/v1/subscribers/dup")).json()["data"]["firstName"] == "One"


async def test_search_filters_and_cursor(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    for i in range(7):
        await call(
            novu.subscribers.create,
            create_subscriber_request_dto={
                "subscriber_id": f"s-{i}",
                "first_name": "Grace" if i % 2 else "Alan",
                "last_name": f"Hopper{i}",
                "email": f"user{i}@{'acme' if i < 3 else 'other'}.example",
                "phone": f"+1555000{i}",
            },
        )

    async def search(**request: Any) -> models.ListSubscribersResponseDto:
        return (await call(novu.subscribers.search, request=request)).result

    by_email = await search(email="acme.example")
    assert sorted(s.subscriber_id for s in by_email.data) == ["s-0", "s-1", "s-2"]
    assert by_email.total_count == 3 and by_email.total_count_capped is False
    assert [s.subscriber_id for s in (await search(name="Grace Hopper3")).data] == ["s-3"]
    assert len((await search(name="grace")).data) == 3
    assert [s.subscriber_id for s in (await search(phone="+15550005")).data] == ["s-5"]
    assert [s.subscriber_id for s in (await search(subscriber_id="s-6")).data] == ["s-6"]

    # Cursor pages, newest first by default: 3 + 3 + 1, then back with `before`.
    seen: list[str] = []
    page = await search(limit=3)
    assert page.previous is None
    pages = [page]
    while page.next:
        page = await search(limit=3, after=page.next)
        pages.append(page)
    seen = [s.subscriber_id for p in pages for s in p.data]
    assert seen == [f"s-{i}" for i in range(6, -1, -1)]
    assert [len(p.data) for p in pages] == [3, 3, 1] and pages[-1].next is None
    back = await search(limit=3, before=pages[-1].previous)
    assert [s.subscriber_id for s in back.data] == ["s-3", "s-2", "s-1"]
    ascending = await search(limit=2, order_direction="ASC", order_by="createdAt")
    assert [s.subscriber_id for s in ascending.data] == ["s-0", "s-1"]


async def test_bad_input_and_not_found(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    novu = novu_v2(live_api, env.key)
    with pytest.raises(models.ValidationErrorDto) as bad:
        await call(
            novu.subscribers.create,
            create_subscriber_request_dto={"subscriber_id": "bad", "email": "not-an-email"},
        )
    assert invalid(bad.value) == ["email must be an email"]
    assert (await env.http.get("/v1/subscribers/bad")).status_code == 404  # nothing written
    with pytest.raises(models.ErrorDto) as err:
        await call(novu.subscribers.retrieve, subscriber_id="ghost")
    assert err.value.raw_response.status_code == 404
    assert err.value.data.message == "Subscriber: ghost was not found"
    with pytest.raises(models.ErrorDto) as err:
        await call(novu.subscribers.delete, subscriber_id="ghost")
    assert err.value.raw_response.json()["externalSubscriberId"] == "ghost"
    with pytest.raises(models.ValidationErrorDto) as bad:
        await call(novu.subscribers.search, request={"limit": 101})
    assert invalid(bad.value) == ["limit must not be greater than 100"]
    with pytest.raises(models.ErrorDto) as err:
        await call(novu.subscribers.search, request={"after": "000000000000000000000000"})
    assert err.value.raw_response.status_code == 400


async def test_environment_isolation(stack: Stack, live_api: str) -> None:
    owner, other = await stack.new_env(), await stack.new_env()
    mine, theirs = novu_v2(live_api, owner.key), novu_v2(live_api, other.key)
    await call(mine.subscribers.create, create_subscriber_request_dto={"subscriber_id": "private"})
    assert (await call(theirs.subscribers.search, request={})).result.data == []
    for op, kwargs in (
        (theirs.subscribers.retrieve, {}),
        (theirs.subscribers.delete, {}),
        (theirs.subscribers.patch, {"patch_subscriber_request_dto": {"first_name": "Mallory"}}),
    ):
        with pytest.raises(models.ErrorDto) as err:
            await call(op, subscriber_id="private", **kwargs)
        assert err.value.raw_response.status_code == 404
    # Their create makes their own subscriber; ours is untouched.
    await call(
        theirs.subscribers.create,
        create_subscriber_request_dto={"subscriber_id": "private", "first_name": "Mallory"},
        fail_if_exists=True,
    )
    assert "firstName" not in (await owner.http.get("/v1/subscribers/private")).json()["data"]
