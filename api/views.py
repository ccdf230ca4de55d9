"""Novu's documents built from store rows: the wire format of v1 resources lives here, not in ``store/``.

``store/`` returns rows (SQLModel tables); these functions turn them into the camelCase JSON Novu's clients
read (``_id``, ``_environmentId``, ``createdAt``), which the routes' response models (``api.responses``)
describe. Elsewhere: the activity feed in ``api.activity_views``, preferences in ``api.preference_views``,
the Inbox's shapes (and v2 subscriber notifications) in ``api.inbox_views``, v2 topic subscriptions in
``api.subscription_views``; outbound webhook event data in ``tidings.webhook_payloads``. Routers only
route: they call the store and one of these.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from temporalio.client import ScheduleDescription

from activities.template_subscriber import template_subscriber
from api.responses import FeedOut
from api.wire import compact
from store.crypto import CredentialCipher
from store.db import iso
from store.integrations import mask
from store.models import (
    ApiKey,
    Environment,
    Feed,
    Integration,
    Layout,
    Message,
    NotificationGroup,
    RecurringSchedule,
    Subscriber,
    SubscriberRecord,
    Tenant,
    Topic,
    TopicSubscriber,
    Translation,
    WebhookDelivery,
    WebhookEndpoint,
    WorkflowDefinition,
    WorkflowOverride,
)
from store.tenancy import EnvironmentRef
from store.webhooks import webhook_id
from store.workflows_store import CHANNELS as DEFINITION_CHANNELS
from tidings.schedules import transaction_id as schedule_transaction_id
from workflows.step_json import listed_step


def subscriber_view(sub: Subscriber | SubscriberRecord, *, organization_id: str) -> dict[str, Any]:
    """Novu's ``SubscriberResponseDto``: the subscriber document templates read
    (``activities.template_subscriber``) with the organization it belongs to."""
    document = template_subscriber(sub)
    return {"_id": document.pop("_id"), "_organizationId": organization_id, **document}


def integration_view(row: Integration, cipher: CredentialCipher) -> dict[str, Any]:
    return {
        "_id": row.id,
        "_environmentId": row.environment_id,
        "_organizationId": row.organization_id,
        "name": row.name,
        "identifier": row.identifier,
        "providerId": row.provider_id,
        "channel": row.channel,
        "credentials": mask(cipher.decrypt(row.credentials_encrypted)),
        "active": row.active,
        "deleted": False,
        "deletedAt": None,
        "deletedBy": None,
        "primary": row.primary,
        "priority": row.priority,
        "conditions": row.conditions or [],
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


def layout_view(row: Layout, organization_id: str) -> dict[str, Any]:
    return {
        "_id": row.id,
        "_organizationId": organization_id,
        "_environmentId": row.environment_id,
        "name": row.name,
        "identifier": row.identifier,
        "description": row.description,
        "channel": row.channel,
        "content": row.content,
        "contentType": row.content_type,
        "variables": row.variables or [],
        "isDefault": row.is_default,
        "isDeleted": row.deleted,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


def override_view(override: WorkflowOverride, organization_id: str) -> dict[str, Any]:
    return {
        "_id": override.id,
        "_organizationId": organization_id,
        "_environmentId": override.environment_id,
        "_workflowId": override.workflow_id,
        "_tenantId": override.tenant_id,
        "active": override.active,
        "preferenceSettings": override.preference_settings or {},
        "deleted": override.deleted,
        "createdAt": iso(override.created_at),
        "updatedAt": iso(override.updated_at),
    }


def tenant_view(tenant: Tenant) -> dict[str, Any]:
    return {
        "_id": tenant.id,
        "identifier": tenant.identifier,
        "name": tenant.name,
        "data": tenant.data or {},
        "_environmentId": tenant.environment_id,
        "createdAt": iso(tenant.created_at),
        "updatedAt": iso(tenant.updated_at),
    }


def message_view(msg: Message, *, organization_id: str) -> dict[str, Any]:
    return compact(
        {
            "_id": msg.id,
            "_templateId": msg.workflow_id,
            "_environmentId": msg.environment_id,
            "_messageTemplateId": msg.step_id,
            "_organizationId": organization_id,
            "_notificationId": msg.notification_id,
            "_subscriberId": msg.subscriber_id,
            "_jobId": f"{msg.transaction_id}:{msg.step_id}",
            "_feedId": msg.feed_id,
            "templateIdentifier": msg.template_identifier,
            "transactionId": msg.transaction_id,
            "channel": msg.channel,
            "providerId": msg.provider_id,
            "content": msg.content,
            "subject": msg.subject,
            "title": msg.title,
            "seen": msg.seen,
            "read": msg.read,
            "archived": msg.archived,
            "deleted": msg.deleted,
            "lastSeenDate": iso(msg.last_seen_date),
            "lastReadDate": iso(msg.last_read_date),
            "cta": msg.cta or {"type": "redirect", "data": {}},
            "actor": msg.actor,
            "_actorId": msg.actor_subscriber_id,
            "avatar": msg.avatar,
            "data": msg.data,
            "tags": msg.tags or [],
            "payload": msg.payload or {},
            "overrides": msg.overrides or {},
            "status": msg.status,
            "errorText": msg.error_text,
            "email": msg.email,
            "phone": msg.phone,
            "deviceTokens": msg.device_tokens,
            "directWebhookUrl": msg.direct_webhook_url,
            "createdAt": iso(msg.created_at),
            "updatedAt": iso(msg.updated_at),
        }
    )


def delivery_view(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "_id": row.id,
        "webhookId": webhook_id(row.id),
        "_endpointId": row.endpoint_id,
        "event": row.event_type,
        "status": row.status,
        "attempts": row.attempts,
        "lastStatusCode": row.last_status_code,
        "lastError": row.last_error,
        "nextAttemptAt": iso(row.next_attempt_at),
        "deliveredAt": iso(row.delivered_at),
        "createdAt": iso(row.created_at),
        "payload": row.body,
    }


def endpoint_view(row: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "_id": row.id,
        "_environmentId": row.environment_id,
        "url": row.url,
        "events": list(row.events or []),
        "description": row.description,
        "active": row.active,
        "disabledReason": row.disabled_reason,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }
    if secret is not None:
        view["secret"] = secret
    return view


def definition_view(
    row: WorkflowDefinition, *, organization_id: str, group: NotificationGroup | None = None
) -> dict[str, Any]:
    """Novu's ``WorkflowResponse``, plus ``origin`` (``code`` or ``rest``)."""
    identifier = row.trigger_identifier.split(":deleted:")[0]
    triggers = row.triggers or [{"type": "event", "identifier": identifier, "variables": []}]
    view: dict[str, Any] = {
        "_id": row.id,
        "name": row.name,
        "description": row.description or "",
        "active": row.active,
        "draft": not row.active,
        "preferenceSettings": row.preference_settings or dict.fromkeys(DEFINITION_CHANNELS, True),
        "critical": row.critical,
        "tags": list(row.tags or []),
        "steps": [listed_step(s) for s in row.steps or []],
        "_organizationId": organization_id,
        "_creatorId": None,
        "_environmentId": row.environment_id,
        "triggers": triggers,
        "_notificationGroupId": row.notification_group_id,
        "deleted": row.deleted,
        "deletedAt": iso(row.deleted_at),
        "deletedBy": None,
        "data": row.data,
        "origin": row.origin,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "workflowIntegrationStatus": {"hasActiveIntegrations": True, "hasPrimaryIntegrations": True},
    }
    if row.origin == "code" and row.payload_schema:
        view["payloadSchema"] = row.payload_schema
    if group is not None:
        view["notificationGroup"] = group_view(group, organization_id)
    return {k: v for k, v in view.items() if v is not None}


def group_view(group: NotificationGroup, organization_id: str) -> dict[str, Any]:
    view = {
        "_id": group.id,
        "name": group.name,
        "_environmentId": group.environment_id,
        "_organizationId": organization_id,
        "createdAt": iso(group.created_at),
    }
    if group.parent_id:
        view["_parentId"] = group.parent_id
    return view


def environment_view(env: Environment) -> dict[str, Any]:
    return {
        "_id": env.id,
        "name": env.name,
        "_organizationId": env.organization_id,
        "identifier": env.identifier,
        # The public id browsers pass to the Inbox (``POST /v1/inbox/session``); never a secret.
        "applicationIdentifier": env.identifier,
    }


def api_key_view(key: ApiKey) -> dict[str, Any]:
    """Keys are stored hashed, so only their last four characters can be shown."""
    return {"key": f"****{key.hint}", "_id": key.id}


def feed_view(feed: Feed, env: EnvironmentRef) -> FeedOut:
    return FeedOut(
        id=feed.id,
        name=feed.name,
        identifier=feed.identifier,
        environment_id=feed.environment_id,
        organization_id=env.organization_id,
        created_at=iso(feed.created_at),
    )


def schedule_view(row: RecurringSchedule, described: ScheduleDescription | None) -> dict[str, Any]:
    return {
        "_id": row.id,
        "_environmentId": row.environment_id,
        "workflowId": row.workflow_identifier,
        "to": row.to,
        "payload": row.payload,
        "repeat": row.repeat,
        "timezone": row.timezone,
        "startAt": iso(row.start_at),
        "endAt": iso(row.end_at),
        "origin": row.origin,
        "key": row.key,
        **_temporal_fields(row.id, described),
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


def _temporal_fields(schedule_id: str, described: ScheduleDescription | None) -> dict[str, Any]:
    """What the Temporal UI shows of a schedule, in the API's words (all ``None`` when Temporal has none)."""
    if described is None:
        return {"paused": None, "note": None, "nextRuns": [], "recentRuns": [], "temporalScheduleId": None}
    info = described.info
    state = described.schedule.state
    return {
        "paused": state.paused,
        "note": state.note or None,
        "nextRuns": [t.astimezone(UTC).isoformat() for t in info.next_action_times[:5]],
        "recentRuns": [
            {
                "scheduledAt": r.scheduled_at.astimezone(UTC).isoformat(),
                "startedAt": r.started_at.astimezone(UTC).isoformat(),
                "transactionId": schedule_transaction_id(schedule_id, r.scheduled_at),
            }
            for r in info.recent_actions
        ],
        "numActions": info.num_actions,
        "temporalScheduleId": described.id,
    }


def feed_item_view(msg: Message, sub: Subscriber, env: EnvironmentRef) -> dict[str, Any]:
    """One message of ``GET /v1/subscribers/{subscriberId}/notifications/feed``."""
    item = message_view(msg, organization_id=env.organization_id)
    item["subscriber"] = compact(
        {
            "_id": sub.id,
            "subscriberId": sub.subscriber_id,
            "firstName": sub.first_name,
            "lastName": sub.last_name,
            "avatar": sub.avatar,
        }
    )
    item["template"] = {"_id": msg.workflow_id, "tags": msg.tags or []}
    return item


def topic_view(topic: Topic, env: EnvironmentRef, subscribers: list[str]) -> dict[str, Any]:
    return {
        "_id": topic.id,
        "_organizationId": env.organization_id,
        "_environmentId": topic.environment_id,
        "key": topic.key,
        "name": topic.name,
        "subscribers": subscribers,
    }


def member_view(member: TopicSubscriber, env: EnvironmentRef) -> dict[str, Any]:
    return {
        "_organizationId": env.organization_id,
        "_environmentId": member.environment_id,
        "_subscriberId": member.subscriber_id,
        "_topicId": member.topic_id,
        "topicKey": member.topic_key,
        "externalSubscriberId": member.external_subscriber_id,
    }


def translation_view(row: Translation) -> dict[str, Any]:
    return {
        "resourceId": row.resource_id,
        "resourceType": row.resource_type,
        "locale": row.locale,
        "content": row.content,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


def translation_group_view(
    resource_id: str, resource_type: str, name: str, rows: list[Translation]
) -> dict[str, Any]:
    """A resource's translations: which locales it has, first created and last updated."""
    return {
        "resourceId": resource_id,
        "resourceType": resource_type,
        "resourceName": name,
        "locales": [r.locale for r in rows],
        "createdAt": iso(min(r.created_at for r in rows)),
        "updatedAt": iso(max(r.updated_at for r in rows)),
    }
