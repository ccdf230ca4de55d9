"""``DELETE /v1/events/trigger/{transactionId}``: cancel what is still pending for a transaction."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from api.deps import CurrentEnv, DbDep, TemporalDep
from api.wire import ok
from store.db import Database
from store.digests import cancel_transaction
from workflows.models import execution_id

router = APIRouter(prefix="/v1/events", tags=["events"])
log = logging.getLogger("tidings.cancel")


async def cancel_executions(temporal: Client, root_id: str) -> bool:
    """Cancel the transaction's execution and the ones it forked (``<root>:…``) that still run."""
    ids = [root_id]
    try:
        query = f'WorkflowId STARTS_WITH "{root_id}:" AND ExecutionStatus = "Running"'
        ids += [w.id async for w in temporal.list_workflows(query)]
    except RPCError as exc:  # a visibility store without prefix search: the root execution still cancels
        log.warning("could not list forked executions of %s: %s", root_id, exc)
    cancelled = False
    for wid in ids:
        handle = temporal.get_workflow_handle(wid)
        try:
            described = await handle.describe()
            if described.status != WorkflowExecutionStatus.RUNNING:
                continue
            await handle.cancel()
            cancelled = True
        except RPCError:
            continue  # not found, or it finished in between: nothing pending there
    return cancelled


async def cancel_pending(*, db: Database, temporal: Client, environment_id: str, transaction_id: str) -> bool:
    """Novu's ``CancelDelayed``: true when a pending delay, step or digest event was cancelled."""
    digested = await cancel_transaction(db=db, environment_id=environment_id, transaction_id=transaction_id)
    running = await cancel_executions(temporal, execution_id(environment_id, transaction_id))
    return digested > 0 or running


@router.delete("/trigger/{transaction_id}")
async def cancel(transaction_id: str, env: CurrentEnv, db: DbDep, temporal: TemporalDep) -> dict[str, Any]:
    return ok(
        await cancel_pending(db=db, temporal=temporal, environment_id=env.id, transaction_id=transaction_id)
    )
