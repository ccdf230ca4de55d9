"""Novu's v2, Inbox and translation response documents as pydantic models (see ``api.responses`` for v1).

Same rules as v1: declared fields are the ones clients read, extra fields pass through, unset ones are not
sent. v2 lists use ``api.wire.CursorList``; Inbox lists are ``{data, hasMore, filter}`` (``InboxList``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.wire import NovuObject

Doc = dict[str, Any]


class WorkflowBrief(NovuObject):
    """The workflow an Inbox notification or preference belongs to."""

    id: str | None = None
    identifier: str | None = None
    name: str | None = None
    critical: bool | None = None
    severity: str | None = None
    tags: list[str] | None = None


class InboxAction(NovuObject):
    label: str | None = None
    isCompleted: bool
    redirect: Doc | None = None


class InboxNotificationOut(NovuObject):
    """Novu's ``InboxNotificationDto`` (Inbox and v2 subscriber notifications)."""

    id: str
    transactionId: str
    subject: str | None = None
    body: str
    to: Doc
    isRead: bool
    isSeen: bool
    isArchived: bool
    isSnoozed: bool
    snoozedUntil: str | None = None
    createdAt: str
    readAt: str | None = None
    firstSeenAt: str | None = None
    archivedAt: str | None = None
    avatar: str | None = None
    primaryAction: InboxAction | None = None
    secondaryAction: InboxAction | None = None
    channelType: str
    tags: list[str]
    redirect: Doc | None = None
    data: Doc | None = None
    workflow: WorkflowBrief | None = None
    severity: str


class InboxList(NovuObject):
    """``{data, hasMore, filter}``: a page of Inbox notifications and the filter it answered."""

    data: list[InboxNotificationOut]
    hasMore: bool | None = None
    filter: Doc | None = None


class FilterCount(NovuObject):
    count: int
    filter: Doc


class CountsOut(NovuObject):
    """``{data: [{count, filter}]}``."""

    data: list[FilterCount]


class InboxSessionOut(NovuObject):
    """Novu's ``SubscriberSessionResponseDto``: the subscriber token a browser uses."""

    token: str | None = None
    totalUnreadCount: int | None = None
    unreadCount: Doc | None = None
    removeNovuBranding: bool | None = None
    isDevelopmentMode: bool | None = None
    maxSnoozeDurationHours: int | None = None
    applicationIdentifier: str | None = None


class InboxPreferenceOut(NovuObject):
    """An Inbox preference: ``{level, enabled, channels, workflow?, schedule?}``."""

    level: str
    enabled: bool
    channels: dict[str, bool]
    workflow: WorkflowBrief | None = None
    schedule: Doc | None = None


class WebPushOut(NovuObject):
    enabled: bool | None = None
    vapidPublicKey: str | None = None
    subscribed: bool | None = None
    endpoint: str | None = None


class TopicV2Out(NovuObject):
    """Novu's v2 ``TopicResponseDto``."""

    id_: str = Field(alias="_id")
    key: str
    name: str
    createdAt: str
    updatedAt: str


class SubscriptionPreferenceOut(NovuObject):
    subscriptionId: str | None = None
    enabled: bool | None = None
    condition: Doc | None = None
    workflow: WorkflowBrief | None = None


class SubscriptionOut(NovuObject):
    """Novu's ``TopicSubscriptionResponseDto``."""

    id_: str = Field(alias="_id")
    identifier: str | None = None
    name: str | None = None
    topic: Doc
    subscriber: Doc | None
    preferences: list[SubscriptionPreferenceOut] | None = None
    createdAt: str
    updatedAt: str


class SubscriptionBriefOut(NovuObject):
    """``GET /v2/topics/{key}/subscriptions/{identifier}``."""

    id: str | None = None
    identifier: str | None = None
    name: str | None = None
    preferences: list[SubscriptionPreferenceOut] | None = None


class SubscriptionBatchOut(NovuObject):
    """``{data: [subscription], meta: {totalCount, successful, failed}, errors?}``."""

    data: list[SubscriptionOut]
    meta: Doc
    errors: list[Any] | None = None


class WorkflowPreferenceV2(NovuObject):
    enabled: bool
    channels: dict[str, bool]
    overrides: list[Any] | None = None
    workflow: Doc
    updatedAt: str | None = None
    level: str | None = None


class PreferencesV2Out(NovuObject):
    """Novu's ``GetSubscriberPreferencesDto``: ``{global, workflows}``."""

    global_: Doc = Field(alias="global")
    workflows: list[WorkflowPreferenceV2]


class TranslationOut(NovuObject):
    resourceId: str
    resourceType: str
    locale: str
    content: Doc
    createdAt: str
    updatedAt: str


class TranslationGroupOut(NovuObject):
    resourceId: str
    resourceType: str
    resourceName: str
    locales: list[str]
    createdAt: str
    updatedAt: str


class MasterJsonOut(NovuObject):
    workflows: Doc | None = None
    layouts: Doc | None = None


class ImportResultOut(NovuObject):
    success: bool | None = None
    message: str | None = None
    successful: list[Any] | None = None
    failed: list[Any] | None = None


class UploadResultOut(NovuObject):
    totalFiles: int | None = None
    successfulUploads: int | None = None
    failedUploads: int | None = None
    errors: list[Any] | None = None


class DeliveryScheduleOut(NovuObject):
    """A subscriber's delivery schedule ``{isEnabled, weeklySchedule}``."""

    isEnabled: bool | None = None
    weeklySchedule: Doc | None = None
