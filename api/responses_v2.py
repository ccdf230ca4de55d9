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
    """Novu's ``NotificationWorkflowDto``: the workflow an Inbox notification, Inbox preference or topic
    subscription preference names (``api.inbox_views.workflow_brief``)."""

    id: str
    identifier: str
    name: str
    critical: bool
    severity: str
    tags: list[str]


class InboxAction(NovuObject):
    """Novu's ``InboxActionDto``: a CTA button (``redirect`` when it has a valid URL)."""

    label: str
    isCompleted: bool
    redirect: Doc | None = None


class InboxNotificationOut(NovuObject):
    """Novu's ``InboxNotificationDto`` (Inbox and v2 subscriber notifications, both built by
    ``api.inbox_views.inbox_notification_view``)."""

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

    token: str
    totalUnreadCount: int
    unreadCount: Doc
    removeNovuBranding: bool
    isDevelopmentMode: bool
    maxSnoozeDurationHours: int
    applicationIdentifier: str


class InboxPreferenceOut(NovuObject):
    """An Inbox preference: ``{level, enabled, channels, workflow?, schedule?}``."""

    level: str
    enabled: bool
    channels: dict[str, bool]
    workflow: WorkflowBrief | None = None
    schedule: Doc | None = None


class WebPushOut(NovuObject):
    """``GET /v1/inbox/web-push``: whether Web Push is set up, and the VAPID public key (``null`` if not)."""

    enabled: bool
    vapidPublicKey: str | None


class WebPushSubscriptionOut(NovuObject):
    """A browser's push subscription stored (``{subscribed: true, endpoint}``) or removed (``{subscribed: false}``)."""

    subscribed: bool
    endpoint: str | None = None


class TopicV2Out(NovuObject):
    """Novu's v2 ``TopicResponseDto``."""

    id_: str = Field(alias="_id")
    key: str
    name: str
    createdAt: str
    updatedAt: str


class SubscriptionPreferenceOut(NovuObject):
    """A subscription's preference, one per workflow it names (``workflow: null`` when it names none that
    exists); ``condition`` when the preference has one."""

    subscriptionId: str
    enabled: bool
    condition: Doc | None = None
    workflow: WorkflowBrief | None


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
    """``GET /v2/topics/{key}/subscriptions/{identifier}`` (``name`` when the subscription has one)."""

    id: str
    identifier: str
    name: str | None = None
    preferences: list[SubscriptionPreferenceOut]


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
    """One locale of every resource: ``{workflows: {id: content}, layouts: {id: content}}``."""

    workflows: Doc
    layouts: Doc


class ImportResultOut(NovuObject):
    """A master JSON import: the resource ids imported and those that failed."""

    success: bool
    message: str
    successful: list[str]
    failed: list[str]


class UploadResultOut(NovuObject):
    """Translation files uploaded for one resource (one file per locale)."""

    totalFiles: int
    successfulUploads: int
    failedUploads: int
    errors: list[str]


class DeliveryScheduleOut(NovuObject):
    """A subscriber's delivery schedule ``{isEnabled, weeklySchedule}`` (``weeklySchedule`` may be ``{}``)."""

    isEnabled: bool
    weeklySchedule: Doc
