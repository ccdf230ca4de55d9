"""``/v1/feeds``: create, list and delete in-app feeds (`shared/reference/novu-v1-api.md` §10.4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.deps import CurrentEnv, DbDep
from api.errors import Conflict
from api.wire import ok
from store.db import iso
from store.feeds import create_feed, delete_feed, list_feeds
from store.models import Feed
from store.tenancy import EnvironmentRef

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])


class FeedBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str


def feed_view(feed: Feed, env: EnvironmentRef) -> dict[str, Any]:
    return {
        "_id": feed.id,
        "name": feed.name,
        "identifier": feed.identifier,
        "_environmentId": feed.environment_id,
        "_organizationId": env.organization_id,
        "createdAt": iso(feed.created_at),
    }


@router.post("", status_code=201)
async def create(body: FeedBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        feed = await create_feed(session=session, environment_id=env.id, name=body.name)
    if feed is None:
        raise Conflict(f"Feed with identifier: {body.name} already exists")
    return ok(feed_view(feed, env))


@router.get("")
async def list_all(env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        feeds = await list_feeds(session=session, environment_id=env.id)
    return ok([feed_view(f, env) for f in feeds])


@router.delete("/{feed_id}")
async def remove(feed_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    """Answers with the feeds that remain, as Novu does."""
    async with db.session() as session:
        await delete_feed(session=session, environment_id=env.id, feed_id=feed_id)
        feeds = await list_feeds(session=session, environment_id=env.id)
    return ok([feed_view(f, env) for f in feeds])
