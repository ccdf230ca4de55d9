"""Paging through a large audience (topic members or every subscriber) with a keyset cursor.

The fan-out workflow never holds the audience: it asks for the *boundary* of the next cohort, and each
cohort child loads its own ids (and opens their notification rows) for the range it was given.
"""

from __future__ import annotations

from temporalio import activity

from activities.recipients import open_notifications
from store.db import Database
from store.topics import audience_page, count_audience
from workflows.models import (
    AUDIENCE_PAGE,
    COUNT_AUDIENCE,
    AudiencePage,
    AudiencePageInput,
    CountAudienceInput,
)


class AudienceActivities:
    def __init__(self, *, db: Database) -> None:
        self.db = db

    @activity.defn(name=AUDIENCE_PAGE)
    async def audience_page(self, request: AudiencePageInput) -> AudiencePage:
        """Audience ids in ``(after, until]``; with ``open_notifications`` their feed rows are opened too."""
        ctx, audience = request.context, request.audience
        async with self.db.session() as session:
            ids, has_more = await audience_page(
                session=session,
                environment_id=ctx.environment_id,
                topic_ids=audience.topic_ids,
                broadcast=audience.broadcast,
                exclude=audience.exclude,
                after=request.after,
                until=request.until,
                limit=request.limit,
            )
            if request.open_notifications:
                await open_notifications(self.db, session, ctx, ids)
        return AudiencePage(
            ids=ids if request.with_ids else [],
            count=len(ids),
            last=ids[-1] if ids else None,
            has_more=has_more,
        )

    @activity.defn(name=COUNT_AUDIENCE)
    async def count_audience(self, request: CountAudienceInput) -> int:
        audience = request.audience
        async with self.db.session() as session:
            return await count_audience(
                session=session,
                environment_id=request.context.environment_id,
                topic_ids=audience.topic_ids,
                broadcast=audience.broadcast,
                exclude=audience.exclude,
            )
