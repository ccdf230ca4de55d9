"""Rate limits per environment and category, shared by two API processes on one PostgreSQL database,
answered with Novu's headers and 429 body."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from store.db import Database
from tests.support import Stack


@pytest.fixture(scope="module")
async def limited_apps(pg_stack: Stack) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two API processes with tiny limits: 4 global and 5 trigger requests per hour-long window."""
    settings = pg_stack.settings.model_copy(
        update={
            "rate_limit_global": 4 / 3600,
            "rate_limit_trigger": 5 / 3600,
            "rate_limit_window_seconds": 3600,
            "rate_limit_burst": 0.0,
            "rate_limit_bulk_cost": 3,
        }
    )
    dbs = [Database(settings.database_url) for _ in range(2)]
    apps = [create_app(settings, db=db, temporal=pg_stack.client) for db in dbs]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        yield apps[0], apps[1]
    for db in dbs:
        await db.dispose()


def client_for(app: FastAPI, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tidings.test",
        headers={"Authorization": f"ApiKey {key}"},
    )


async def test_limit_is_shared_across_processes(stack: Stack, limited_apps: tuple[FastAPI, FastAPI]) -> None:
    env = await stack.new_env()
    a, b = (client_for(app, env.key) for app in limited_apps)
    async with a, b:
        answers = [await (a if n % 2 else b).get("/v1/subscribers") for n in range(4)]
        assert [r.status_code for r in answers] == [200] * 4
        assert [r.headers["ratelimit-remaining"] for r in answers] == ["3", "2", "1", "0"]
        first = answers[0]
        assert first.headers["ratelimit-limit"] == "4"
        assert 'category="global"' in first.headers["ratelimit-policy"]
        assert 'cost="single"' in first.headers["ratelimit-policy"]
        assert 0 < int(first.headers["ratelimit-reset"]) <= 3600

        over = await a.get("/v1/subscribers")
        assert over.status_code == 429
        body = over.json()
        assert body["statusCode"] == 429 and body["message"] == "API rate limit exceeded"
        assert body["error"] == "Too Many Requests"
        assert int(over.headers["retry-after"]) > 0 and over.headers["ratelimit-remaining"] == "0"

        # Another category has its own budget; another environment has its own everything.
        config = await b.get("/v1/workflows")
        assert config.status_code == 200 and 'category="configuration"' in config.headers["ratelimit-policy"]
    other = await stack.new_env()
    async with client_for(limited_apps[1], other.key) as c:
        assert (await c.get("/v1/subscribers")).status_code == 200


async def test_bulk_costs_more(stack: Stack, limited_apps: tuple[FastAPI, FastAPI]) -> None:
    env = await stack.new_env()
    async with client_for(limited_apps[0], env.key) as a:
        bulk = await a.post("/v1/events/trigger/bulk", json={"events": []})
        assert bulk.status_code != 429
        assert bulk.headers["ratelimit-remaining"] == "2"
        assert 'cost="bulk"' in bulk.headers["ratelimit-policy"]
        assert 'category="trigger"' in bulk.headers["ratelimit-policy"]
        single = await a.post("/v1/events/trigger", json={"name": "nope", "to": "x"})
        assert single.headers["ratelimit-remaining"] == "1"
        await a.post("/v1/events/trigger", json={"name": "nope", "to": "x"})
        blocked = await a.post("/v1/events/trigger", json={"name": "nope", "to": "x"})
        assert blocked.status_code == 429


async def test_default_limits_leave_normal_use_alone(env) -> None:  # type: ignore[no-untyped-def]
    resp = await env.http.get("/v1/subscribers")
    assert resp.status_code == 200
    assert resp.headers["ratelimit-limit"] == "3000"
    assert resp.headers["ratelimit-policy"].startswith("3000;w=1;burst=3300;")
