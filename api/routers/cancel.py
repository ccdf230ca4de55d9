"""``DELETE /v1/events/trigger/{transactionId}``: cancel what is still pending for a transaction.

No text a tenant wrote ever goes into a Temporal query. The root execution is addressed by its exact ID
(``<env>:<tx>``, a handle, not a query); the executions it forked are found by
:func:`workflows.models.fork_prefix`, which is this environment's ID plus a hex digest of the
transactionId — so the query is built from our own characters only, is always scoped to the caller's
environment, and ``order-1`` never reaches ``order-1:42``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from api.deps import CurrentEnv, DbDep, TemporalDep
from api.wire import Data, WireRouter, ok
from store.db import Database
from store.digests import cancel_transaction
from workflows.models import execution_id, fork_prefix

router = WireRouter(prefix="/v1/events", tags=["events"])
log = logging.getLogger("tidings.cancel")

#: Everything a fork prefix may contain: our environment IDs, ``/``, ``tx-`` and hex digits.
_QUERY_SAFE = re.compile(r"[A-Za-z0-9_./-]+")


def forks_query(environment_id: str, transaction_id: str) -> str:
    """The visibility query for a transaction's running forks; refuses anything but our own alphabet."""
    prefix = fork_prefix(environment_id, transaction_id)
    if not _QUERY_SAFE.fullmatch(prefix):  # environment IDs are ours; this guards the construction itself
        raise ValueError("fork prefix outside the query-safe alphabet")
    return f'WorkflowId STARTS_WITH "{prefix}" AND ExecutionStatus = "Running"'


async def cancel_executions(temporal: Client, environment_id: str, transaction_id: str) -> bool:
    """Cancel the transaction's execution and the ones it forked that still run."""
    ids = [execution_id(environment_id, transaction_id)]
    try:
        ids += [w.id async for w in temporal.list_workflows(forks_query(environment_id, transaction_id))]
    except RPCError as exc:  # a visibility store without prefix search: the root execution still cancels
        log.warning("could not list forked executions of a transaction: %s", exc)
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
    running = await cancel_executions(temporal, environment_id, transaction_id)
    return digested > 0 or running


@router.delete("/trigger/{transaction_id}", response_model=Data[bool])
async def cancel(transaction_id: str, env: CurrentEnv, db: DbDep, temporal: TemporalDep) -> dict[str, Any]:
    return ok(
        await cancel_pending(db=db, temporal=temporal, environment_id=env.id, transaction_id=transaction_id)
    )
