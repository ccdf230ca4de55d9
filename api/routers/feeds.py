"""``/v1/feeds``: create, list and delete in-app feeds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentEnv, DbDep
from api.errors import Conflict
from api.wire import Data, WireModel, WireRouter
from store.db import iso
from store.feeds import create_feed, delete_feed, list_feeds
from store.models import Feed
from store.tenancy import EnvironmentRef

router = WireRouter(prefix="/v1/feeds", tags=["feeds"])


class FeedBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str


class FeedOut(WireModel):
    """Novu's ``FeedResponseDto``."""

    id: str = Field(serialization_alias="_id")
    name: str
    identifier: str
    environment_id: str = Field(serialization_alias="_environmentId")
    organization_id: str = Field(serialization_alias="_organizationId")
    created_at: str | None = Field(serialization_alias="createdAt")


def feed_view(feed: Feed, env: EnvironmentRef) -> FeedOut:
    return FeedOut(
        id=feed.id,
        name=feed.name,
        identifier=feed.identifier,
        environment_id=feed.environment_id,
        organization_id=env.organization_id,
        created_at=iso(feed.created_at),
    )


@router.post("", status_code=201, response_model=Data[FeedOut])
async def create(body: FeedBody, env: CurrentEnv, db: DbDep) -> Data[FeedOut]:
    async with db.session() as session:
        feed = await create_feed(session=session, environment_id=env.id, name=body.name)
    if feed is None:
        raise Conflict(f"Feed with identifier: {body.name} already exists")
    return Data(data=feed_view(feed, env))


@router.get("", response_model=Data[list[FeedOut]])
async def list_all(env: CurrentEnv, db: DbDep) -> Data[list[FeedOut]]:
    async with db.session() as session:
        feeds = await list_feeds(session=session, environment_id=env.id)
    return Data(data=[feed_view(f, env) for f in feeds])


@router.delete("/{feed_id}", response_model=Data[list[FeedOut]])
async def remove(feed_id: str, env: CurrentEnv, db: DbDep) -> Data[list[FeedOut]]:
    """Answers with the feeds that remain, as Novu does."""
    async with db.session() as session:
        await delete_feed(session=session, environment_id=env.id, feed_id=feed_id)
        feeds = await list_feeds(session=session, environment_id=env.id)
    return Data(data=[feed_view(f, env) for f in feeds])
