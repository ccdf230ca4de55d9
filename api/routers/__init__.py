"""One router module per Novu resource; each exposes ``router``. The app includes them in this order."""

ROUTER_MODULES = [
    "events",
    "cancel",
    "subscribers",
    "preferences",
    "subscriber_messages",
    "subscriber_oauth",
    "feeds",
    "topics",
    "messages",
    "notifications",
    "execution_details",
    "workflows",
    "notification_groups",
    "workflow_overrides",
    "tenants",
    "integrations",
    "layouts",
    "environments",
    "schedules",
    "translations",
]
