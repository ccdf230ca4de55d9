"""Subscriber preferences as Novu sends them: v1 (``{template, preference}``) and v2 (``{workflow, channels}``).

The Inbox's preference items build on these (``api.inbox_views``); the layering of template, tenant
override and subscriber values is ``store.preferences.merge_channels``.
"""

from __future__ import annotations

from typing import Any

from store.db import iso
from store.models import SubscriberPreference, WorkflowDefinition
from store.preferences import CHANNELS as PREFERENCE_CHANNELS
from store.preferences import merge_channels, workflow_channels


def global_preference_view(preference: SubscriberPreference | None) -> dict[str, Any]:
    """``{preference: {enabled, channels}}`` with all five channels (missing ones are on)."""
    stored = (preference.channels if preference is not None else None) or {}
    return {
        "preference": {
            "enabled": preference.enabled if preference is not None else True,
            "channels": {c: bool(stored.get(c, True)) for c in PREFERENCE_CHANNELS},
        }
    }


def template_view(definition: WorkflowDefinition) -> dict[str, Any]:
    triggers = definition.triggers or [
        {"type": "event", "identifier": definition.trigger_identifier, "variables": []}
    ]
    view: dict[str, Any] = {
        "_id": definition.id,
        "name": definition.name,
        "critical": definition.critical,
        "triggers": triggers,
        "tags": definition.tags or [],
    }
    if definition.data is not None:
        view["data"] = definition.data
    return view


def workflow_preference_view(
    definition: WorkflowDefinition,
    preference: SubscriberPreference | None,
    *,
    override: dict[str, Any] | None = None,
    include_inactive_channels: bool = False,
) -> dict[str, Any]:
    """One element of ``GET …/preferences``: the workflow and the subscriber's merged preference."""
    channels = PREFERENCE_CHANNELS if include_inactive_channels else workflow_channels(definition)
    values, overrides = merge_channels(
        channels,
        template=definition.preference_settings,
        override=override,
        subscriber=preference.channels if preference is not None else None,
    )
    return {
        "template": template_view(definition),
        "preference": {
            "enabled": preference.enabled if preference is not None else True,
            "channels": values,
            "overrides": overrides,
        },
        "type": "SUBSCRIBER_WORKFLOW",
    }


def v2_workflow_info(definition: WorkflowDefinition) -> dict[str, Any]:
    """The ``workflow`` of a v2 preference: its slug, identifier, name and last change."""
    return {
        "slug": definition.trigger_identifier,
        "identifier": definition.trigger_identifier,
        "name": definition.name,
        "updatedAt": iso(definition.updated_at),
    }


def v2_workflow_preference_view(
    definition: WorkflowDefinition, row: SubscriberPreference | None
) -> dict[str, Any]:
    """One workflow of ``GET /v2/subscribers/{subscriberId}/preferences``: merged channels and their sources."""
    channels, overrides = merge_channels(
        workflow_channels(definition),
        template=definition.preference_settings,
        subscriber=row.channels if row is not None else None,
    )
    entry: dict[str, Any] = {
        "enabled": row.enabled if row is not None else True,
        "channels": channels,
        "overrides": overrides,
        "workflow": v2_workflow_info(definition),
    }
    if row is not None:
        entry["updatedAt"] = iso(row.updated_at)
    return entry
