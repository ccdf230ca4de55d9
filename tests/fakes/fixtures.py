"""Fixtures for the fake providers; test modules import the ones they use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from store.models import WorkflowDefinition
from store.subscribers import get_subscriber
from tests.fakes.h2_server import FakeApns
from tests.fakes.http_api import FakeHttpProviders
from tests.support import Env


@pytest.fixture(scope="session", name="http_fakes")
def http_fakes_fixture() -> Iterator[FakeHttpProviders]:
    fakes = FakeHttpProviders()
    fakes.start()
    yield fakes
    fakes.stop()


@pytest.fixture(name="fake")
def fake_fixture(http_fakes: FakeHttpProviders) -> Iterator[FakeHttpProviders]:
    """The fake provider APIs, emptied before each test."""
    http_fakes.reset()
    yield http_fakes
    http_fakes.release()


@pytest.fixture(name="fake_apns")
async def fake_apns_fixture() -> AsyncIterator[FakeApns]:
    server = FakeApns()
    await server.start()
    yield server
    await server.stop()


async def add_workflow(env: Env, identifier: str, steps: list[dict[str, Any]]) -> None:
    """A REST-style notification workflow stored directly (its API belongs to another module)."""
    async with env.stack.db.session() as session:
        session.add(
            WorkflowDefinition(
                environment_id=env.id,
                name=identifier,
                trigger_identifier=identifier,
                origin="rest",
                active=True,
                steps=[
                    {"_id": f"s{i}", "uuid": f"s{i}", "active": True, "template": t}
                    for i, t in enumerate(steps)
                ],
            )
        )


async def add_integration(
    env: Env, provider_id: str, channel: str, credentials: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """Through the API, as a user would; returns the response's ``data``."""
    body = {
        "providerId": provider_id,
        "channel": channel,
        "credentials": credentials,
        "active": True,
        **extra,
    }
    resp = await env.http.post("/v1/integrations", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]  # type: ignore[no-any-return]


async def set_channels(env: Env, subscriber_id: str, channels: list[dict[str, Any]], **fields: Any) -> None:
    resp = await env.http.post("/v1/subscribers", json={"subscriberId": subscriber_id, **fields})
    assert resp.status_code == 201, resp.text
    async with env.stack.db.session() as session:
        row = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
        assert row is not None
        row.channels = channels
        session.add(row)


async def details(env: Env, transaction_id: str) -> list[Any]:
    return await env.sql(
        "select detail, status, provider_id, raw, subscriber_id from execution_details "
        "where environment_id = :e and transaction_id = :t order by created_at",
        e=env.id,
        t=transaction_id,
    )
