"""Start-up that waits and explains: the API and the worker retry their dependencies with backoff.

In a fleet the processes start in any order (compose, Kubernetes), so a dependency that is not there
*yet* is normal: log what is awaited and why, retry with capped exponential backoff, and give up with a
one-line reason after ``TIDINGS_STARTUP_TIMEOUT_SECONDS`` (0 waits forever).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.runtime import Runtime

from store.db import Database
from tidings.settings import Settings
from tidings.temporal import connect

log = logging.getLogger("tidings.startup")
T = TypeVar("T")


class DependencyUnavailable(RuntimeError):
    """A dependency did not answer within the start-up timeout."""


def _reason(err: BaseException) -> str:
    text_ = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text_[:300]


async def wait_for(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    timeout: float,
    first_delay: float = 0.5,
    max_delay: float = 10.0,
) -> T:
    """Call ``attempt`` until it succeeds, logging each failure with the next delay."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    delay = first_delay
    tries = 0
    while True:
        tries += 1
        try:
            result = await attempt()
        except Exception as err:  # noqa: BLE001 - any failure to reach a dependency is retried
            if deadline is not None and time.monotonic() + delay > deadline:
                raise DependencyUnavailable(
                    f"{what} was not ready within {timeout:.0f}s ({tries} attempts): {_reason(err)}"
                ) from None
            log.warning(
                "waiting for %s (attempt %d): %s; retrying in %.1fs", what, tries, _reason(err), delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
        else:
            if tries > 1:
                log.info("%s is up after %d attempts", what, tries)
            return result


async def ping_database(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


class SchemaBehind(RuntimeError):
    """The database answers but is not migrated to what this code needs."""


async def check_schema(db: Database) -> None:
    """Raise unless the schema is at this code's migration head (or newer: a rolling upgrade's old pods)."""
    from alembic.script import ScriptDirectory

    from store.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(""))  # only the scripts are read
    heads = set(script.get_heads())
    async with db.engine.connect() as conn:
        try:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        except DBAPIError as err:  # no version table yet: never migrated
            raise SchemaBehind("the database is not migrated yet: run `tidings migrate`") from err
    current = {row[0] for row in rows}
    known = {rev.revision for rev in script.walk_revisions()}
    if current & heads or (current and not current & known):
        return
    raise SchemaBehind(
        f"the database schema is at {', '.join(sorted(current)) or 'nothing'}, this release needs "
        f"{', '.join(sorted(heads))}: run `tidings migrate`"
    )


async def wait_for_database(db: Database, settings: Settings) -> None:
    """Wait until the database answers and is migrated (a migration job may still be running)."""

    async def attempt() -> None:
        await ping_database(db)
        await check_schema(db)

    await wait_for("the database", attempt, timeout=settings.startup_timeout_seconds)


async def wait_for_temporal(
    settings: Settings, *, runtime: Runtime | None = None, interceptors: Sequence[Any] = ()
) -> Client:
    where = f"Temporal at {settings.temporal_address} (namespace {settings.temporal_namespace})"

    async def attempt() -> Client:
        client = await connect(
            settings.temporal_address, settings.temporal_namespace, runtime=runtime, interceptors=interceptors
        )
        await client.workflow_service.get_system_info(GetSystemInfoRequest())
        return client

    return await wait_for(where, attempt, timeout=settings.startup_timeout_seconds)
