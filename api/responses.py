"""Novu's v1 response documents as pydantic models: the shapes ``/openapi.json`` shows for every v1 route.

Each model declares the fields Novu's clients read, under Novu's names (``_id``, ``_environmentId``,
``createdAt``); views may send more (``extra="allow"``) and may leave optional fields out (routes serialize
with ``exclude_unset``, see ``api.wire.WireRouter``). Routes declare ``response_model=Data[XOut]``,
``Page[XOut]`` or a small result model.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.wire import NovuObject, WireModel

Doc = dict[str, Any]


class Deleted(NovuObject):
    """``{acknowledged: true, status: "deleted"}``."""

    acknowledged: bool | None = None
    status: str | None = None


class Count(NovuObject):
    count: int | None = None


class SubscriberOut(NovuObject):
    """Novu's ``SubscriberResponseDto``."""

    id_: str | None = Field(None, alias="_id")
    organization_id: str | None = Field(None, alias="_organizationId")
    environment_id: str | None = Field(None, alias="_environmentId")
    subscriberId: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    email: str | None = None
    phone: str | None = None
    avatar: str | None = None
    locale: str | None = None
    timezone: str | None = None
    data: Doc | None = None
    channels: list[Any] | None = None
    isOnline: bool | None = None
    lastOnlineAt: str | None = None
    deleted: bool | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class SubscriberRef(NovuObject):
    """``{subscriberId, _id}`` (the answer of credential updates)."""

    id_: str | None = Field(None, alias="_id")
    subscriberId: str | None = None


class BulkSubscribersOut(NovuObject):
    """``POST /v1/subscribers/bulk``: ``{created, updated, failed}``."""

    created: list[Any] | None = None
    updated: list[Any] | None = None
    failed: list[Any] | None = None


class MessageOut(NovuObject):
    """Novu's ``MessageResponseDto``."""

    id_: str | None = Field(None, alias="_id")
    template_id: str | None = Field(None, alias="_templateId")
    environment_id: str | None = Field(None, alias="_environmentId")
    organization_id: str | None = Field(None, alias="_organizationId")
    notification_id: str | None = Field(None, alias="_notificationId")
    subscriber_id: str | None = Field(None, alias="_subscriberId")
    feed_id: str | None = Field(None, alias="_feedId")
    templateIdentifier: str | None = None
    transactionId: str | None = None
    channel: str | None = None
    providerId: str | None = None
    content: Any = None
    subject: str | None = None
    seen: bool | None = None
    read: bool | None = None
    archived: bool | None = None
    deleted: bool | None = None
    cta: Doc | None = None
    payload: Doc | None = None
    status: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    subscriber: SubscriberOut | None = None


class TopicOut(NovuObject):
    """Novu's ``TopicDto``."""

    id_: str | None = Field(None, alias="_id")
    organization_id: str | None = Field(None, alias="_organizationId")
    environment_id: str | None = Field(None, alias="_environmentId")
    key: str | None = None
    name: str | None = None
    subscribers: list[str] | None = None


class TopicMemberOut(NovuObject):
    """Novu's ``TopicSubscriberDto``."""

    organization_id: str | None = Field(None, alias="_organizationId")
    environment_id: str | None = Field(None, alias="_environmentId")
    subscriber_id: str | None = Field(None, alias="_subscriberId")
    topic_id: str | None = Field(None, alias="_topicId")
    topicKey: str | None = None
    externalSubscriberId: str | None = None


class TopicMembersOut(NovuObject):
    """``{succeeded: [...], failed: {notFound: [...]}}``."""

    succeeded: list[str] | None = None
    failed: Doc | None = None


class ExecutionDetailOut(NovuObject):
    """Novu's ``ExecutionDetailsResponseDto``."""

    id_: str | None = Field(None, alias="_id")
    organization_id: str | None = Field(None, alias="_organizationId")
    job_id: str | None = Field(None, alias="_jobId")
    environment_id: str | None = Field(None, alias="_environmentId")
    notification_id: str | None = Field(None, alias="_notificationId")
    subscriber_id: str | None = Field(None, alias="_subscriberId")
    message_id: str | None = Field(None, alias="_messageId")
    providerId: str | None = None
    transactionId: str | None = None
    channel: str | None = None
    detail: str | None = None
    source: str | None = None
    status: str | None = None
    isTest: bool | None = None
    isRetry: bool | None = None
    raw: str | None = None
    createdAt: str | None = None


class NotificationOut(NovuObject):
    """Novu's ``ActivityNotificationResponseDto`` (one entry of the activity feed)."""

    id_: str | None = Field(None, alias="_id")
    environment_id: str | None = Field(None, alias="_environmentId")
    organization_id: str | None = Field(None, alias="_organizationId")
    template_id: str | None = Field(None, alias="_templateId")
    subscriber_id: str | None = Field(None, alias="_subscriberId")
    transactionId: str | None = None
    createdAt: str | None = None
    channels: list[str] | None = None
    payload: Doc | None = None
    tags: list[str] | None = None
    subscriber: Doc | None = None
    template: Doc | None = None
    jobs: list[Doc] | None = None


class TriggerProgressOut(NovuObject):
    """``GET /v1/events/trigger/{transactionId}/progress``."""

    transactionId: str | None = None
    status: str | None = None
    total: int | None = None
    done: int | None = None


class CancelOut(NovuObject):
    """``DELETE /v1/events/trigger/{transactionId}``: ``{data: true|false}``-like result of the cancel."""


class EnvironmentOut(NovuObject):
    id_: str | None = Field(None, alias="_id")
    organization_id: str | None = Field(None, alias="_organizationId")
    name: str | None = None
    identifier: str | None = None
    applicationIdentifier: str | None = None


class ApiKeyOut(NovuObject):
    id_: str | None = Field(None, alias="_id")
    key: str | None = None


class IntegrationOut(NovuObject):
    """Novu's ``IntegrationResponseDto`` (secret credentials masked)."""

    id_: str | None = Field(None, alias="_id")
    environment_id: str | None = Field(None, alias="_environmentId")
    organization_id: str | None = Field(None, alias="_organizationId")
    name: str | None = None
    identifier: str | None = None
    providerId: str | None = None
    channel: str | None = None
    credentials: Doc | None = None
    active: bool | None = None
    deleted: bool | None = None
    primary: bool | None = None
    priority: int | None = None
    conditions: list[Any] | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class LayoutOut(NovuObject):
    """Novu's ``LayoutResponseDto``."""

    id_: str | None = Field(None, alias="_id")
    organization_id: str | None = Field(None, alias="_organizationId")
    environment_id: str | None = Field(None, alias="_environmentId")
    name: str | None = None
    identifier: str | None = None
    description: str | None = None
    channel: str | None = None
    content: str | None = None
    contentType: str | None = None
    variables: list[Any] | None = None
    isDefault: bool | None = None
    isDeleted: bool | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class IdOut(NovuObject):
    """``{_id}`` (what a create answers with when Novu sends the id only)."""

    id_: str | None = Field(None, alias="_id")


class GroupOut(NovuObject):
    """Novu's ``NotificationGroupResponseDto``."""

    id_: str | None = Field(None, alias="_id")
    name: str | None = None
    environment_id: str | None = Field(None, alias="_environmentId")
    organization_id: str | None = Field(None, alias="_organizationId")
    parent_id: str | None = Field(None, alias="_parentId")
    createdAt: str | None = None


class TenantOut(NovuObject):
    """Novu's ``GetTenantResponseDto``."""

    id_: str | None = Field(None, alias="_id")
    environment_id: str | None = Field(None, alias="_environmentId")
    identifier: str | None = None
    name: str | None = None
    data: Doc | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class OverrideOut(NovuObject):
    """Novu's ``WorkflowOverrideResponseDto``."""

    id_: str | None = Field(None, alias="_id")
    organization_id: str | None = Field(None, alias="_organizationId")
    environment_id: str | None = Field(None, alias="_environmentId")
    workflow_id: str | None = Field(None, alias="_workflowId")
    tenant_id: str | None = Field(None, alias="_tenantId")
    active: bool | None = None
    preferenceSettings: Doc | None = None
    deleted: bool | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class WorkflowOut(NovuObject):
    """Novu's ``WorkflowResponse`` (plus ``origin``: ``code`` or ``rest``)."""

    id_: str | None = Field(None, alias="_id")
    name: str | None = None
    description: str | None = None
    active: bool | None = None
    draft: bool | None = None
    preferenceSettings: Doc | None = None
    critical: bool | None = None
    tags: list[str] | None = None
    steps: list[Doc] | None = None
    organization_id: str | None = Field(None, alias="_organizationId")
    environment_id: str | None = Field(None, alias="_environmentId")
    triggers: list[Doc] | None = None
    notification_group_id: str | None = Field(None, alias="_notificationGroupId")
    deleted: bool | None = None
    data: Doc | None = None
    origin: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class WorkflowCreatedOut(NovuObject):
    id_: str | None = Field(None, alias="_id")
    workflowId: str | None = None
    name: str | None = None


class VariablesOut(NovuObject):
    translations: list[Any] | None = None
    system: dict[str, list[str]] | None = None


class PreferenceState(NovuObject):
    enabled: bool | None = None
    channels: dict[str, bool] | None = None
    overrides: list[Any] | None = None


class WorkflowPreferenceOut(NovuObject):
    """Novu's ``UpdateSubscriberPreferenceResponseDto``: ``{template, preference, type?}``."""

    template: Doc | None = None
    preference: PreferenceState | None = None
    type: str | None = None


class WebhookEndpointOut(NovuObject):
    id_: str | None = Field(None, alias="_id")
    environment_id: str | None = Field(None, alias="_environmentId")
    url: str | None = None
    events: list[str] | None = None
    description: str | None = None
    active: bool | None = None
    disabledReason: str | None = None
    secret: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class SecretOut(NovuObject):
    secret: str | None = None


class WebhookDeliveryOut(NovuObject):
    id_: str | None = Field(None, alias="_id")
    webhookId: str | None = None
    endpoint_id: str | None = Field(None, alias="_endpointId")
    event: str | None = None
    status: str | None = None
    attempts: int | None = None
    lastStatusCode: int | None = None
    lastError: str | None = None
    nextAttemptAt: str | None = None
    deliveredAt: str | None = None
    createdAt: str | None = None
    payload: Any = None


class ScheduleOut(NovuObject):
    id_: str | None = Field(None, alias="_id")
    environment_id: str | None = Field(None, alias="_environmentId")
    workflowId: str | None = None
    to: Any = None
    payload: Doc | None = None
    repeat: Doc | None = None
    timezone: str | None = None
    startAt: str | None = None
    endAt: str | None = None
    origin: str | None = None
    key: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class Acknowledged(NovuObject):
    acknowledged: bool | None = None


class FeedOut(WireModel):
    """Novu's ``FeedResponseDto``."""

    id: str = Field(serialization_alias="_id")
    name: str
    identifier: str
    environment_id: str = Field(serialization_alias="_environmentId")
    organization_id: str = Field(serialization_alias="_organizationId")
    created_at: str | None = Field(serialization_alias="createdAt")


class TriggerOut(WireModel):
    """Novu's ``TriggerEventResponseDto``: ``transactionId`` once accepted, ``error`` when refused."""

    acknowledged: bool
    status: str
    transactionId: str | None = None
    error: list[str] | None = None
