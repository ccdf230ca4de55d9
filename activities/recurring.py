"""Firing a recurring schedule: the ordinary trigger path, with a transactionId fixed by the firing."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client

from api.errors import TidingsError
from api.triggering import TriggerBody, TriggerService
from store.db import Database
from store.schedules import get_schedule
from store.tenancy import EnvironmentRef, get_environment
from tidings.schedules import transaction_id
from tidings.settings import Settings
from tidings.temporal import TRANSACTION_ID, has_search_attribute
from workflows.scheduled import FIRE_SCHEDULE, FireScheduleInput, FireScheduleResult


class RecurringActivities:
    """Uses the API's ``TriggerService`` so a scheduled trigger is checked exactly like one over HTTP."""

    def __init__(self, *, db: Database, client: Client, settings: Settings) -> None:
        self.db = db
        self.client = client
        self.settings = settings
        self._service: TriggerService | None = None

    async def service(self) -> TriggerService:
        if self._service is None:
            self._service = TriggerService(
                db=self.db,
                temporal=self.client,
                settings=self.settings,
                with_search_attribute=await has_search_attribute(self.client, TRANSACTION_ID.name),
            )
        return self._service

    @activity.defn(name=FIRE_SCHEDULE)
    async def fire_schedule(self, request: FireScheduleInput) -> FireScheduleResult:
        async with self.db.session() as session:
            row = await get_schedule(
                session=session, environment_id=request.environment_id, schedule_id=request.schedule_id
            )
            env = await get_environment(session=session, environment_id=request.environment_id)
        if row is None or env is None:
            return FireScheduleResult(status="schedule_deleted")
        tx = transaction_id(row.id, request.scheduled_at)
        body = TriggerBody(name=row.workflow_identifier, to=row.to, payload=row.payload, transactionId=tx)
        ref = EnvironmentRef(id=env.id, organization_id=env.organization_id, name=env.name)
        try:
            result = await (await self.service()).trigger(ref, body)
        except TidingsError as exc:
            # The workflow was deleted or the payload no longer validates: this firing is over, the
            # schedule keeps its calendar. The reason is the execution's result in the Temporal UI.
            activity.logger.warning("schedule %s could not trigger: %s", row.id, exc.message)
            return FireScheduleResult(status="error", transaction_id=tx, detail={"message": exc.message})
        return FireScheduleResult(status=str(result.get("status")), transaction_id=tx)
