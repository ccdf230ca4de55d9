"""A neighbour down or stuck (the database, Temporal) is a 503 with ``Retry-After``, in seconds, not a
bare 500 after 30.

Every Temporal call the API makes is bounded by :class:`TemporalDeadline` (a client interceptor), every
database wait by the engine's ``busy_timeout`` (``store/db.py``); what they raise is recognised here and
answered in Novu's error body. A trigger that got a 503 was not acknowledged; retrying it with the same
``transactionId`` is safe: if the start did reach Temporal, the retry answers ``processed``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
import sqlalchemy.exc
from temporalio import client as tc
from temporalio.service import RPCError, RPCStatusCode

from store.db import Database, ping
from tidings.settings import Settings

T = TypeVar("T")

#: RPC failures that mean "Temporal is not answering", not "the request is wrong".
_TEMPORAL_DOWN = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
}


_DB_DOWN_WORDS = (
    "database is locked", "database is busy", "database table is locked", "unable to open database",
    "lock timeout", "locknotavailable", "connection", "connect", "cannotconnectnow", "too many clients",
    "shutting down", "starting up", "terminating", "server closed", "timeout",
)  # fmt: skip


class TemporalUnavailable(Exception):
    """Temporal did not answer within the API's deadline."""


def bad_input(exc: BaseException) -> bool:
    """The database refused a value the client sent (a NUL character, a number out of range): a 400,
    whichever route forgot to check it."""
    if isinstance(exc, sqlalchemy.exc.DataError):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        causes = (exc.orig, getattr(exc.orig, "__cause__", None))
        return any(isinstance(c, asyncpg.exceptions.DataError) for c in causes)
    return False


def unavailable_reason(exc: BaseException) -> str | None:
    """Which neighbour ``exc`` says is unavailable ("database" / "Temporal"), or None."""
    if isinstance(exc, TemporalUnavailable):
        return "Temporal"
    if isinstance(exc, RPCError) and exc.status in _TEMPORAL_DOWN:
        return "Temporal"
    if isinstance(exc, sqlalchemy.exc.TimeoutError):  # no pool connection in time
        return "database"
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc.orig, ConnectionError | TimeoutError):
            return "database"
        # Only lock and connection failures: "no such table" is an OperationalError too, and a bug.
        text = f"{type(exc.orig).__name__} {exc.orig}".lower()
        return "database" if any(word in text for word in _DB_DOWN_WORDS) else None
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return "database"
    return None


def unavailable_answer(neighbour: str, settings: Any) -> tuple[str, dict[str, str]]:
    """The 503's message and ``Retry-After`` header when ``neighbour`` is unavailable."""
    retry = str(getattr(settings, "retry_after_seconds", 5))
    return f"{neighbour} is unavailable; nothing was done, retry later", {"Retry-After": retry}


#: Exception classes worth asking :func:`unavailable_reason` about (one HTTP handler each).
UNAVAILABLE_TYPES: tuple[type[Exception], ...] = (
    TemporalUnavailable,
    RPCError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DBAPIError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
)


async def _bounded(seconds: float, call: Awaitable[T]) -> T:
    try:
        # asyncio.timeout, not wait_for: the call runs in the caller's task instead of a new one per call
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError as exc:
        raise TemporalUnavailable(f"Temporal did not answer within {seconds:g}s") from exc


class _Outbound(tc.OutboundInterceptor):
    def __init__(self, next: tc.OutboundInterceptor, seconds: float) -> None:
        super().__init__(next)
        self.seconds = seconds

    def _rpc(self, input: Any) -> None:
        if getattr(input, "rpc_timeout", None) is None:
            input.rpc_timeout = timedelta(seconds=self.seconds)

    async def start_workflow(self, input: tc.StartWorkflowInput) -> tc.WorkflowHandle[Any, Any]:
        self._rpc(input)
        return await _bounded(self.seconds, super().start_workflow(input))

    async def cancel_workflow(self, input: tc.CancelWorkflowInput) -> None:
        self._rpc(input)
        return await _bounded(self.seconds, super().cancel_workflow(input))

    async def signal_workflow(self, input: tc.SignalWorkflowInput) -> None:
        self._rpc(input)
        return await _bounded(self.seconds, super().signal_workflow(input))

    async def terminate_workflow(self, input: tc.TerminateWorkflowInput) -> None:
        self._rpc(input)
        return await _bounded(self.seconds, super().terminate_workflow(input))

    async def describe_workflow(self, input: tc.DescribeWorkflowInput) -> tc.WorkflowExecutionDescription:
        self._rpc(input)
        return await _bounded(self.seconds, super().describe_workflow(input))

    async def query_workflow(self, input: tc.QueryWorkflowInput) -> Any:
        self._rpc(input)
        return await _bounded(self.seconds, super().query_workflow(input))

    async def count_workflows(self, input: tc.CountWorkflowsInput) -> tc.WorkflowExecutionCount:
        self._rpc(input)
        return await _bounded(self.seconds, super().count_workflows(input))

    def list_workflows(self, input: tc.ListWorkflowsInput) -> tc.WorkflowExecutionAsyncIterator:
        self._rpc(input)
        return super().list_workflows(input)


class TemporalDeadline(tc.Interceptor):
    """Bounds every Temporal call of the API to ``seconds`` (RPC deadline and overall wait)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def intercept_client(self, next: tc.OutboundInterceptor) -> tc.OutboundInterceptor:
        return _Outbound(next, self.seconds)


def with_deadline(client: tc.Client, seconds: float) -> tc.Client:
    """The same connection, with every call bounded by :class:`TemporalDeadline` (the client's own
    interceptors, e.g. tracing, still apply, inside the deadline)."""
    return tc.Client(
        client.service_client,
        namespace=client.namespace,
        data_converter=client.data_converter,
        interceptors=[TemporalDeadline(seconds), *client.config().get("interceptors", [])],
    )


async def _database_ok(db: Database) -> None:
    await ping(db)


async def _probe(check: Awaitable[Any], timeout: float) -> dict[str, str]:
    try:
        answer = await asyncio.wait_for(check, timeout)
    except Exception as exc:  # noqa: BLE001 - any failure is "down"; the kind goes in the answer
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "down", "error": "unhealthy"} if answer is False else {"status": "up"}


async def neighbours(db: Database, temporal: tc.Client, settings: Settings) -> dict[str, dict[str, str]]:
    """``{"database": {"status": "up"|"down"}, "temporal": {...}}``, each probed within its timeout
    (``/v1/health-check``; readiness probes can use the same)."""
    temporal_timeout = settings.temporal_timeout_seconds
    return {
        "database": await _probe(_database_ok(db), settings.db_timeout_seconds),
        "temporal": await _probe(
            temporal.service_client.check_health(timeout=timedelta(seconds=temporal_timeout)),
            temporal_timeout,
        ),
    }
