"""Novu's v1 response documents as pydantic models: the shapes ``/openapi.json`` shows for every v1 route.

Each model declares the fields Novu's clients read, under Novu's names (``_id``, ``_environmentId``,
``createdAt``); views may send more (``extra="allow"``) and may leave optional fields out (routes serialize
with ``exclude_unset``, see ``api.wire.WireRouter``). A field without a default is one every answer carries
(``required`` in ``/openapi.json``; its type says whether it may be ``null``), compared with Novu's own
``required`` lists; the rest are sent when set. Routes declare ``response_model=Data[XOut]``,
``Page[XOut]`` or a small result model.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.wire import NovuObject, WireModel

Doc = dict[str, Any]


class Deleted(NovuObject):
    """``{acknowledged: true, status: "deleted"}``."""

    acknowledged: bool
    status: str


class Count(NovuObject):
    count: int


class SubscriberOut(NovuObject):
    """Novu's ``SubscriberResponseDto``."""

    id_: str = Field(alias="_id")
    organization_id: str = Field(alias="_organizationId")
    environment_id: str = Field(alias="_environmentId")
    subscriberId: str
    firstName: str | None = None
    lastName: str | None = None
    email: str | None = None
    phone: str | None = None
    avatar: str | None = None
    locale: str | None = None
    timezone: str | None = None
    data: Doc | None = None
    channels: list[Any]
    isOnline: bool | None = None
    lastOnlineAt: str | None = None
    deleted: bool
    createdAt: str
    updatedAt: str


class SubscriberRef(NovuObject):
    """``{subscriberId, _id}`` (the answer of credential updates)."""

    id_: str | None = Field(None, alias="_id")
    subscriberId: str | None = None


class BulkSubscribersOut(NovuObject):
    """``POST /v1/subscribers/bulk``: ``{created, updated, failed}``."""

    created: list[Any]
    updated: list[Any]
    failed: list[Any]


class MessageSubscriberOut(NovuObject):
    """The subscriber of a message: the whole ``SubscriberResponseDto`` (``/v1/messages``) or its brief
    (``_id``, ``subscriberId``, names and avatar: the subscriber feed)."""

    id_: str = Field(alias="_id")
    subscriberId: str
    firstName: str | None = None
    lastName: str | None = None
    avatar: str | None = None


class MessageOut(NovuObject):
    """Novu's ``MessageResponseDto``."""

    id_: str = Field(alias="_id")
    template_id: str | None = Field(None, alias="_templateId")
    environment_id: str = Field(alias="_environmentId")
    organization_id: str = Field(alias="_organizationId")
    notification_id: str | None = Field(None, alias="_notificationId")
    subscriber_id: str = Field(alias="_subscriberId")
    message_template_id: str = Field(alias="_messageTemplateId")
    feed_id: str | None = Field(None, alias="_feedId")
    templateIdentifier: str | None = None
    transactionId: str
    channel: str
    providerId: str | None = None
    content: Any = None
    subject: str | None = None
    seen: bool
    read: bool
    archived: bool
    deleted: bool
    cta: Doc
    payload: Doc
    status: str
    createdAt: str
    updatedAt: str
    subscriber: MessageSubscriberOut | None = None


class TopicOut(NovuObject):
    """Novu's ``TopicDto``."""

    id_: str = Field(alias="_id")
    organization_id: str = Field(alias="_organizationId")
    environment_id: str = Field(alias="_environmentId")
    key: str
    name: str
    subscribers: list[str]


class TopicMemberOut(NovuObject):
    """Novu's ``TopicSubscriberDto``."""

    organization_id: str = Field(alias="_organizationId")
    environment_id: str = Field(alias="_environmentId")
    subscriber_id: str = Field(alias="_subscriberId")
    topic_id: str = Field(alias="_topicId")
    topicKey: str
    externalSubscriberId: str


class TopicMembersOut(NovuObject):
    """``{succeeded: [...], failed: {notFound: [...]}}`` (``failed`` only when some subscriber is missing)."""

    succeeded: list[str]
    failed: Doc | None = None


class ExecutionDetailOut(NovuObject):
    """Novu's ``ExecutionDetailsResponseDto``."""

    id_: str = Field(alias="_id")
    organization_id: str = Field(alias="_organizationId")
    job_id: str | None = Field(None, alias="_jobId")
    environment_id: str = Field(alias="_environmentId")
    notification_id: str | None = Field(None, alias="_notificationId")
    subscriber_id: str | None = Field(None, alias="_subscriberId")
    message_id: str | None = Field(None, alias="_messageId")
    providerId: str | None = None
    transactionId: str
    channel: str | None = None
    detail: str
    source: str
    status: str
    isTest: bool
    isRetry: bool
    raw: str | None = None
    createdAt: str


class NotificationOut(NovuObject):
    """Novu's ``ActivityNotificationResponseDto`` (one entry of the activity feed)."""

    id_: str = Field(alias="_id")
    environment_id: str = Field(alias="_environmentId")
    organization_id: str = Field(alias="_organizationId")
    template_id: str | None = Field(None, alias="_templateId")
    subscriber_id: str = Field(alias="_subscriberId")
    transactionId: str
    createdAt: str
    channels: list[str]
    payload: Doc
    tags: list[str]
    subscriber: Doc | None = None
    template: Doc | None = None
    jobs: list[Doc]


class StatsOut(NovuObject):
    """Novu's ``ActivityStatsResponseDto``: notifications of the last 7 and 30 days."""

    weeklySent: int
    monthlySent: int


class GraphDayOut(NovuObject):
    """Novu's ``ActivityGraphStatesResponse``: one UTC day (``_id`` is ``YYYY-MM-DD``)."""

    id_: str = Field(alias="_id")
    count: int
    templates: list[str]
    channels: list[str]


class TriggerProgressOut(NovuObject):
    """``GET /v1/events/trigger/{transactionId}/progress``: the execution's status and the rows recorded so
    far; ``total``, ``done``, ``cohorts`` and ``steps`` when the execution answered its progress query
    (``done`` alone for a completed run that could not)."""

    transactionId: str
    status: str
    notifications: int
    messages: int
    total: int | None = None
    done: int | None = None
    cohorts: dict[str, int] | None = None
    steps: dict[str, dict[str, int]] | None = None


class CancelOut(NovuObject):
    """``DELETE /v1/events/trigger/{transactionId}``: ``{data: true|false}``-like result of the cancel."""


class EnvironmentOut(NovuObject):
    id_: str = Field(alias="_id")
    organization_id: str = Field(alias="_organizationId")
    name: str
    identifier: str
    applicationIdentifier: str


class ApiKeyOut(NovuObject):
    id_: str = Field(alias="_id")
    key: str


class IntegrationOut(NovuObject):
    """Novu's ``IntegrationResponseDto`` (secret credentials masked)."""

    id_: str = Field(alias="_id")
    environment_id: str = Field(alias="_environmentId")
    organization_id: str = Field(alias="_organizationId")
    name: str
    identifier: str
    providerId: str
    channel: str
    credentials: Doc
    active: bool
    deleted: bool
    primary: bool
    priority: int
    conditions: list[Any]
    createdAt: str
    updatedAt: str


class LayoutOut(NovuObject):
    """Novu's ``LayoutResponseDto``."""

    id_: str = Field(alias="_id")
    organization_id: str = Field(alias="_organizationId")
    environment_id: str = Field(alias="_environmentId")
    name: str
    identifier: str
    description: str | None
    channel: str
    content: str
    contentType: str
    variables: list[Any]
    isDefault: bool
    isDeleted: bool
    createdAt: str
    updatedAt: str


class IdOut(NovuObject):
    """``{_id}`` (what a create answers with when Novu sends the id only)."""

    id_: str = Field(alias="_id")


class GroupOut(NovuObject):
    """Novu's ``NotificationGroupResponseDto``."""

    id_: str = Field(alias="_id")
    name: str
    environment_id: str = Field(alias="_environmentId")
    organization_id: str = Field(alias="_organizationId")
    parent_id: str | None = Field(None, alias="_parentId")
    createdAt: str


class TenantOut(NovuObject):
    """Novu's ``GetTenantResponseDto``."""

    id_: str = Field(alias="_id")
    environment_id: str = Field(alias="_environmentId")
    identifier: str
    name: str | None
    data: Doc
    createdAt: str
    updatedAt: str


class OverrideOut(NovuObject):
    """Novu's ``WorkflowOverrideResponseDto``."""

    id_: str = Field(alias="_id")
    organization_id: str = Field(alias="_organizationId")
    environment_id: str = Field(alias="_environmentId")
    workflow_id: str = Field(alias="_workflowId")
    tenant_id: str = Field(alias="_tenantId")
    active: bool
    preferenceSettings: Doc
    deleted: bool
    createdAt: str
    updatedAt: str


class WorkflowOut(NovuObject):
    """Novu's ``WorkflowResponse`` (plus ``origin``: ``code`` or ``rest``)."""

    id_: str = Field(alias="_id")
    name: str
    description: str
    active: bool
    draft: bool
    preferenceSettings: Doc
    critical: bool
    tags: list[str]
    steps: list[Doc]
    organization_id: str = Field(alias="_organizationId")
    environment_id: str = Field(alias="_environmentId")
    triggers: list[Doc]
    notification_group_id: str | None = Field(None, alias="_notificationGroupId")
    deleted: bool
    data: Doc | None = None
    origin: str
    createdAt: str
    updatedAt: str


class VariablesOut(NovuObject):
    """``GET /v1/workflows/variables``: ``{translations, system: {namespace: [names]}}``."""

    translations: list[Any]
    system: dict[str, list[str]]


class PreferenceState(NovuObject):
    enabled: bool
    channels: dict[str, bool]
    overrides: list[Any] | None = None


class WorkflowPreferenceOut(NovuObject):
    """Novu's ``UpdateSubscriberPreferenceResponseDto``: ``{template, preference, type?}``."""

    template: Doc | None = None
    preference: PreferenceState
    type: str | None = None


class WebhookEndpointOut(NovuObject):
    id_: str = Field(alias="_id")
    environment_id: str = Field(alias="_environmentId")
    url: str
    events: list[str]
    description: str | None
    active: bool
    disabledReason: str | None
    secret: str | None = None
    createdAt: str
    updatedAt: str


class SecretOut(NovuObject):
    secret: str


class WebhookDeliveryOut(NovuObject):
    id_: str = Field(alias="_id")
    webhookId: str
    endpoint_id: str = Field(alias="_endpointId")
    event: str
    status: str
    attempts: int
    lastStatusCode: int | None
    lastError: str | None
    nextAttemptAt: str | None
    deliveredAt: str | None
    createdAt: str
    payload: Any


class ScheduleOut(NovuObject):
    id_: str = Field(alias="_id")
    environment_id: str = Field(alias="_environmentId")
    workflowId: str
    to: Any
    payload: Doc
    repeat: Doc
    timezone: str
    startAt: str | None
    endAt: str | None
    origin: str
    key: str | None
    createdAt: str
    updatedAt: str


class Acknowledged(NovuObject):
    acknowledged: bool


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
