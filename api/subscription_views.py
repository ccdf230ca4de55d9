"""Wire shapes of Novu's v2 topic subscriptions: request bodies, and the views the routes answer with
(topic, subscriber brief, subscription with its preferences resolved to workflows)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import BadRequest
from api.inbox_views import workflow_brief
from api.wire import compact
from store.db import iso
from store.models import Subscriber, Topic, TopicSubscriber, WorkflowDefinition
from store.tenancy import EnvironmentRef
from store.topic_subscriptions import (
    SubscriptionOutcome,
    environment_workflows,
    identifier_of,
    load_subscriber_rows,
    load_topics,
)


class SubscriberIdentifier(BaseModel):
    model_config = ConfigDict(extra="ignore")
    identifier: str
    subscriberId: str
    name: str | None = None


class DeleteIdentifier(BaseModel):
    model_config = ConfigDict(extra="ignore")
    identifier: str | None = None
    subscriberId: str | None = None


class GroupFilter(BaseModel):
    model_config = ConfigDict(extra="ignore")
    workflowIds: list[str] | None = None
    tags: list[str] | None = None


class PreferenceItem(BaseModel):
    """A workflow preference (``workflowId``) or a group one (``filter``), optionally conditional."""

    model_config = ConfigDict(extra="ignore")
    workflowId: str | None = None
    filter: GroupFilter | None = None
    enabled: StrictBool | None = None
    condition: dict[str, Any] | None = None


Preference = str | PreferenceItem


class CreateSubscriptionsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    subscriberIds: list[str] | None = None
    subscriptions: list[str | SubscriberIdentifier] | None = None
    name: str | None = None
    preferences: list[Preference] | None = None


class DeleteSubscriptionsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    subscriberIds: list[str] | None = None
    subscriptions: list[str | DeleteIdentifier] | None = None


class UpdateSubscriptionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    preferences: list[Preference] | None = None


def topic_view(topic: Topic) -> dict[str, Any]:
    return compact(
        {
            "_id": topic.id,
            "key": topic.key,
            "name": topic.name,
            "createdAt": iso(topic.created_at),
            "updatedAt": iso(topic.updated_at or topic.created_at),
        }
    )


def subscriber_brief(sub: Subscriber | None) -> dict[str, Any] | None:
    if sub is None:
        return None
    return compact(
        {
            "_id": sub.id,
            "subscriberId": sub.subscriber_id,
            "avatar": sub.avatar,
            "firstName": sub.first_name,
            "lastName": sub.last_name,
            "email": sub.email,
            "createdAt": iso(sub.created_at),
            "updatedAt": iso(sub.updated_at),
        }
    )


def normalize_preferences(items: list[Preference] | None) -> list[dict[str, Any]] | None:
    """Store each preference as ``{workflowId | filter, enabled, condition}`` (``enabled`` defaults on)."""
    if items is None:
        return None
    stored: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            stored.append({"workflowId": item, "enabled": True})
            continue
        if item.workflowId is None and item.filter is None:
            raise BadRequest(["preferences must name a workflowId or a filter"])
        entry: dict[str, Any] = {"enabled": item.enabled is not False}
        if item.workflowId is not None:
            entry["workflowId"] = item.workflowId
        if item.filter is not None:
            entry["filter"] = item.filter.model_dump(exclude_none=True)
        if item.condition is not None:
            entry["condition"] = item.condition
        stored.append(entry)
    return stored


class Views:
    """Builds subscription views with the topics, subscribers and workflows they name, loaded once."""

    def __init__(self, env: EnvironmentRef) -> None:
        self.env = env
        self.topics: dict[str, Topic] = {}
        self.subscribers: dict[str, Subscriber] = {}
        self.workflows: list[WorkflowDefinition] = []

    async def load(self, session: AsyncSession, rows: list[TopicSubscriber]) -> Views:
        self.topics = await load_topics(session=session, ids=[r.topic_id for r in rows])
        self.subscribers = await load_subscriber_rows(session=session, ids=[r.subscriber_id for r in rows])
        if any(r.preferences for r in rows):
            self.workflows = await environment_workflows(session=session, environment_id=self.env.id)
        return self

    def preferences(self, row: TopicSubscriber) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for entry in row.preferences or []:
            if "workflowId" in entry:
                wanted = [w for w in self.workflows if entry["workflowId"] in (w.trigger_identifier, w.id)]
            else:
                ids = set((entry.get("filter") or {}).get("workflowIds") or [])
                tags = set((entry.get("filter") or {}).get("tags") or [])
                wanted = [
                    w
                    for w in self.workflows
                    if w.trigger_identifier in ids or w.id in ids or tags & set(w.tags or [])
                ]
            base = {"subscriptionId": row.id, "enabled": entry.get("enabled", True)}
            if "condition" in entry:
                base["condition"] = entry["condition"]
            if not wanted:
                out.append({**base, "workflow": None})
            for w in wanted:
                out.append({**base, "workflow": workflow_brief(w)})
        return out

    def subscription(self, row: TopicSubscriber) -> dict[str, Any]:
        topic = self.topics.get(row.topic_id)
        view: dict[str, Any] = {
            "_id": row.id,
            "identifier": identifier_of(row),
            "topic": topic_view(topic) if topic else {"_id": row.topic_id, "key": row.topic_key},
            "subscriber": subscriber_brief(self.subscribers.get(row.subscriber_id)),
            "createdAt": iso(row.created_at),
            "updatedAt": iso(row.updated_at or row.created_at),
        }
        if row.name is not None:
            view["name"] = row.name
        if row.preferences:
            view["preferences"] = self.preferences(row)
        return view


def batch_result(outcome: SubscriptionOutcome, views: Views, requested: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "data": [views.subscription(r) for r in outcome.rows],
        "meta": {"totalCount": requested, "successful": len(outcome.rows), "failed": len(outcome.errors)},
    }
    if outcome.errors:
        result["errors"] = outcome.errors
    if outcome.errors and not outcome.rows:
        # Novu answers 400 with the whole result when every subscription failed.
        raise BadRequest({"message": result, **result})
    return result
