"""``/v1/topics``: topics and their subscribers, with Novu's answers and messages."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Response
from pydantic import BaseModel, Field

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, Conflict, NotFound
from api.limits import MAX_TOPIC_SUBSCRIBERS
from api.responses import IdOut, TopicMemberOut, TopicMembersOut, TopicOut
from api.wire import Data, Page, WireRouter, ok, query_int
from store.models import Topic, TopicSubscriber
from store.topics import (
    add_members,
    create_topic,
    delete_topic,
    get_member,
    get_topic,
    has_members,
    list_topics,
    member_ids,
    remove_members,
)

router = WireRouter(prefix="/v1/topics", tags=["topics"])

MAX_PAGE_SIZE = 10


class TopicBody(BaseModel):
    key: str
    name: str


class RenameBody(BaseModel):
    name: str


class MembersBody(BaseModel):
    subscribers: list[str] = Field(max_length=MAX_TOPIC_SUBSCRIBERS)


def topic_view(topic: Topic, env: CurrentEnv, subscribers: list[str]) -> dict[str, Any]:
    return {
        "_id": topic.id,
        "_organizationId": env.organization_id,
        "_environmentId": topic.environment_id,
        "key": topic.key,
        "name": topic.name,
        "subscribers": subscribers,
    }


def member_view(member: TopicSubscriber, env: CurrentEnv) -> dict[str, Any]:
    return {
        "_organizationId": env.organization_id,
        "_environmentId": member.environment_id,
        "_subscriberId": member.subscriber_id,
        "_topicId": member.topic_id,
        "topicKey": member.topic_key,
        "externalSubscriberId": member.external_subscriber_id,
    }


def not_found(key: str, env: CurrentEnv) -> NotFound:
    return NotFound(f"Topic not found for id {key} in the environment {env.id}")


@router.post("", status_code=201, response_model=Data[IdOut])
async def create(body: TopicBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        topic = await create_topic(
            db=db, session=session, environment_id=env.id, key=body.key, name=body.name
        )
    if topic is None:
        raise Conflict(
            f"Topic exists with key {body.key} in the environment {env.id} "
            f"of the organization {env.organization_id}"
        )
    return ok({"_id": topic.id, "key": topic.key})


@router.get("", response_model=Page[TopicOut])
async def list_(
    env: CurrentEnv,
    db: DbDep,
    page: str | None = None,
    page_size: str | None = Query(None, alias="pageSize"),
    limit: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    page_no = query_int("page", page, default=0, minimum=0)
    size = query_int("pageSize", page_size if page_size is not None else limit, default=10, minimum=1)
    if size > MAX_PAGE_SIZE:
        raise BadRequest("Page size can not be larger then 10")
    async with db.session() as session:
        topics, total = await list_topics(
            session=session, environment_id=env.id, page=page_no, page_size=size, key=key
        )
        members = await member_ids(session=session, topic_ids=[t.id for t in topics])
    return {
        "page": page_no,
        "totalCount": total,
        "pageSize": size,
        "data": [topic_view(t, env, members.get(t.id, [])) for t in topics],
    }


@router.get("/{topic_key}", response_model=Data[TopicOut])
async def read(topic_key: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        topic = await get_topic(session=session, environment_id=env.id, key=topic_key)
        if topic is None:
            raise not_found(topic_key, env)
        members = await member_ids(session=session, topic_ids=[topic.id])
    return ok(topic_view(topic, env, members[topic.id]))


@router.patch("/{topic_key}", response_model=Data[TopicOut])
async def rename(topic_key: str, body: RenameBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        topic = await get_topic(session=session, environment_id=env.id, key=topic_key)
        if topic is None:
            raise not_found(topic_key, env)
        topic.name = body.name
        session.add(topic)
        await session.flush()
        members = await member_ids(session=session, topic_ids=[topic.id])
    return ok(topic_view(topic, env, members[topic.id]))


@router.delete("/{topic_key}", status_code=204)
async def delete(topic_key: str, env: CurrentEnv, db: DbDep) -> Response:
    async with db.session() as session:
        topic = await get_topic(session=session, environment_id=env.id, key=topic_key)
        if topic is None:
            raise not_found(topic_key, env)
        if await has_members(session=session, topic_id=topic.id):
            raise Conflict(
                f"Topic with key {topic_key} in the environment {env.id} can't be deleted "
                "as it still has subscribers assigned"
            )
        await delete_topic(session=session, topic=topic)
    return Response(status_code=204)


@router.post("/{topic_key}/subscribers", status_code=200, response_model=Data[TopicMembersOut])
async def add_subscribers(topic_key: str, body: MembersBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    """Add existing subscribers; the topic is created (``Autogenerated-<key>``) when missing."""
    async with db.session() as session:
        topic = await get_topic(session=session, environment_id=env.id, key=topic_key)
        if topic is None:
            await create_topic(
                db=db,
                session=session,
                environment_id=env.id,
                key=topic_key,
                name=f"Autogenerated-{topic_key}",
            )
            topic = await get_topic(session=session, environment_id=env.id, key=topic_key)
        assert topic is not None  # created just now, or by a concurrent request
        succeeded, missing = await add_members(
            db=db, session=session, topic=topic, subscriber_ids=body.subscribers
        )
    result: dict[str, Any] = {"succeeded": succeeded}
    if missing:
        result["failed"] = {"notFound": missing}
    return ok(result)


@router.post("/{topic_key}/subscribers/removal", status_code=204)
async def remove_subscribers(topic_key: str, body: MembersBody, env: CurrentEnv, db: DbDep) -> Response:
    async with db.session() as session:
        topic = await get_topic(session=session, environment_id=env.id, key=topic_key)
        if topic is None:
            raise not_found(topic_key, env)
        await remove_members(session=session, topic=topic, subscriber_ids=body.subscribers)
    return Response(status_code=204)


@router.get("/{topic_key}/subscribers/{subscriber_id}", response_model=Data[TopicMemberOut])
async def read_subscriber(topic_key: str, subscriber_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        topic = await get_topic(session=session, environment_id=env.id, key=topic_key)
        member = (
            await get_member(session=session, topic=topic, subscriber_id=subscriber_id) if topic else None
        )
    if member is None:
        raise NotFound(
            f"Subscriber {subscriber_id} not found for topic {topic_key} in the environment {env.id}"
        )
    return ok(member_view(member, env))
