"""Preference enforcement at delivery time, exactly as Novu decides it (reference §8.4)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import SubscriberPreference

GLOBAL_FILTERED = "Step filtered by subscriber global preferences"
WORKFLOW_FILTERED = "Step filtered by subscriber workflow preferences"


def workflow_channel_enabled(
    channel: str,
    *,
    template: dict[str, bool],
    override: dict[str, bool] | None,
    subscriber: dict[str, bool] | None,
) -> bool:
    """Layer template → tenant override → subscriber; the last source that sets the channel wins."""
    value = True
    for source in (template, override or {}, subscriber or {}):
        if channel in source and source[channel] is not None:
            value = bool(source[channel])
    return value


async def filter_by_preferences(
    *,
    session: AsyncSession,
    subscriber_ids: list[str],
    workflow_id: str,
    channel: str,
    critical: bool,
    template_settings: dict[str, bool],
    override_settings: dict[str, bool] | None = None,
) -> dict[str, str]:
    """Subscribers whose preferences block ``channel`` for this workflow → the detail saying why.

    Critical workflows ignore every preference. Two queries for the whole cohort.
    """
    if critical or not subscriber_ids:
        return {}
    rows = (
        await session.exec(
            select(SubscriberPreference).where(
                col(SubscriberPreference.subscriber_id).in_(subscriber_ids),
                (SubscriberPreference.level == "global")
                | (
                    (SubscriberPreference.level == "template")
                    & (SubscriberPreference.workflow_id == workflow_id)
                ),
            )
        )
    ).all()
    global_prefs: dict[str, SubscriberPreference] = {}
    workflow_prefs: dict[str, SubscriberPreference] = {}
    for row in rows:
        (global_prefs if row.level == "global" else workflow_prefs)[row.subscriber_id] = row
    blocked: dict[str, str] = {}
    for sid in subscriber_ids:
        g = global_prefs.get(sid)
        if g is not None and (not g.enabled or (g.channels or {}).get(channel, True) is False):
            blocked[sid] = GLOBAL_FILTERED
            continue
        w = workflow_prefs.get(sid)
        enabled = w.enabled if w is not None else True
        channels: dict[str, Any] | None = w.channels if w is not None else None
        if not enabled or not workflow_channel_enabled(
            channel, template=template_settings, override=override_settings, subscriber=channels
        ):
            blocked[sid] = WORKFLOW_FILTERED
    return blocked
