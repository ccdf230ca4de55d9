"""Preference enforcement at delivery time, exactly as Novu decides it.

Critical workflows ignore every preference. Otherwise the subscriber's global preference is checked
first, then the workflow preference layered as template → tenant override → subscriber
(:func:`store.preferences.merge_channels`, the same layering ``GET …/preferences`` answers with).
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import SubscriberPreference
from store.preferences import CHANNELS, GLOBAL, cohort_preferences, merge_channels
from workflows.details import Detail

GLOBAL_FILTERED = Detail.STEP_FILTERED_BY_SUBSCRIBER_GLOBAL_PREFERENCES
WORKFLOW_FILTERED = Detail.STEP_FILTERED_BY_SUBSCRIBER_WORKFLOW_PREFERENCES


def workflow_channel_enabled(
    channel: str,
    *,
    template: dict[str, bool],
    override: dict[str, bool] | None,
    subscriber: dict[str, bool] | None,
) -> bool:
    """Whether the layered workflow preference lets ``channel`` through."""
    values, _ = merge_channels([channel], template=template, override=override, subscriber=subscriber)
    return values[channel]


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

    One query for the whole cohort. Non-channel steps and critical workflows are never filtered.
    """
    if critical or channel not in CHANNELS or not subscriber_ids:
        return {}
    rows = await cohort_preferences(session=session, subscriber_ids=subscriber_ids, workflow_id=workflow_id)
    global_prefs: dict[str, SubscriberPreference] = {}
    workflow_prefs: dict[str, SubscriberPreference] = {}
    for row in rows:
        (global_prefs if row.level == GLOBAL else workflow_prefs)[row.subscriber_id] = row
    # Most of a cohort has no workflow preference of its own: their answer is the same, merged once.
    without_own = workflow_channel_enabled(
        channel, template=template_settings, override=override_settings, subscriber=None
    )
    blocked: dict[str, str] = {}
    for sid in subscriber_ids:
        g = global_prefs.get(sid)
        if g is not None and (not g.enabled or (g.channels or {}).get(channel) is False):
            blocked[sid] = GLOBAL_FILTERED
            continue
        w = workflow_prefs.get(sid)
        if w is None:
            allowed = without_own
        else:
            allowed = w.enabled and workflow_channel_enabled(
                channel, template=template_settings, override=override_settings, subscriber=w.channels
            )
        if not allowed:
            blocked[sid] = WORKFLOW_FILTERED
    return blocked
