"""``/v1/execution-details``: why each step did what it did, for one subscriber of a notification.

Tidings also accepts ``transactionId`` (instead of ``notificationId``): details about the transaction
as a whole — an unknown topic, a fan-out's start and finish — have no subscriber or notification.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query

from api.activity_views import detail_view
from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, NotFound
from api.responses import ExecutionDetailOut
from api.wire import Data, WireRouter, ok
from store.activity import execution_details, get_notification
from store.ids import is_object_id
from store.subscribers import get_subscriber

router = WireRouter(prefix="/v1/execution-details", tags=["execution-details"])


@router.get("", response_model=Data[list[ExecutionDetailOut]])
async def list_(
    env: CurrentEnv,
    db: DbDep,
    notification_id: str | None = Query(None, alias="notificationId"),
    subscriber_id: str | None = Query(None, alias="subscriberId"),
    transaction_id: str | None = Query(None, alias="transactionId"),
) -> dict[str, Any]:
    if transaction_id is None:
        problems = []
        if notification_id is None:
            problems += ["notificationId should not be null or undefined"]
        if notification_id is None or not is_object_id(notification_id):
            problems.append("notificationId must be a mongodb id")
        if subscriber_id is None:
            problems += ["subscriberId should not be null or undefined", "subscriberId must be a string"]
        if problems:
            raise BadRequest(problems)
    async with db.session() as session:
        internal: str | None = None
        if subscriber_id is not None:
            sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
            if sub is None:
                raise NotFound(f"Subscriber not found for id {subscriber_id}")
            internal = sub.id
        if transaction_id is None:
            assert notification_id is not None
            notification = await get_notification(
                session=session, environment_id=env.id, notification_id=notification_id
            )
            if notification is None or notification.subscriber_id != internal:
                return ok([])
            transaction_id = notification.transaction_id
        rows = await execution_details(
            session=session, environment_id=env.id, transaction_id=transaction_id, subscriber_id=internal
        )
    return ok([detail_view(d, env.organization_id) for d in rows])
