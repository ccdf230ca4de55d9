"""``/v1/feeds``: create, list and delete in-app feeds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from api.deps import CurrentEnv, DbDep
from api.errors import Conflict
from api.responses import FeedOut
from api.views import feed_view
from api.wire import Data, WireRouter
from store.feeds import create_feed, delete_feed, list_feeds

router = WireRouter(prefix="/v1/feeds", tags=["feeds"])


class FeedBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str


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
