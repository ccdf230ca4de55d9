"""All tables; importing this package registers them on ``SQLModel.metadata``."""

from store.models.channels import Integration, Layout
from store.models.digests import CancelledTransaction, DigestEvent, ThrottleHit
from store.models.extras import RecurringSchedule, Translation
from store.models.messages import ExecutionDetail, Feed, Message, MessageEvent, Notification
from store.models.operations import (
    ConfigVersion,
    IdempotencyRecord,
    RateLimitWindow,
    WebhookDelivery,
    WebhookEndpoint,
)
from store.models.subscribers import (
    Subscriber,
    SubscriberPreference,
    SubscriberRecord,
    Topic,
    TopicSubscriber,
)
from store.models.tenancy import ApiKey, Environment, Organization, Tenant
from store.models.workflows import NotificationGroup, WorkflowDefinition, WorkflowOverride

__all__ = [
    "ApiKey",
    "CancelledTransaction",
    "ConfigVersion",
    "DigestEvent",
    "Environment",
    "ExecutionDetail",
    "Feed",
    "IdempotencyRecord",
    "Integration",
    "Layout",
    "Message",
    "MessageEvent",
    "Notification",
    "NotificationGroup",
    "Organization",
    "RateLimitWindow",
    "RecurringSchedule",
    "Subscriber",
    "SubscriberPreference",
    "SubscriberRecord",
    "Tenant",
    "ThrottleHit",
    "Topic",
    "TopicSubscriber",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Translation",
    "WorkflowDefinition",
    "WorkflowOverride",
]
