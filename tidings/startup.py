"""Start-up that waits and explains: the API and the worker retry their dependencies with backoff.

In a fleet the processes start in any order (compose, Kubernetes), so a dependency that is not there
*yet* is normal: log what is awaited and why, retry with capped exponential backoff, and give up with a
one-line reason after ``TIDINGS_STARTUP_TIMEOUT_SECONDS`` (0 waits forever).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

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
                    f"{what} did not answer within {timeout:.0f}s ({tries} attempts): {_reason(err)}"
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


async def wait_for_database(db: Database, settings: Settings) -> None:
    await wait_for("the database", lambda: ping_database(db), timeout=settings.startup_timeout_seconds)


async def wait_for_temporal(settings: Settings) -> Client:
    where = f"Temporal at {settings.temporal_address} (namespace {settings.temporal_namespace})"

    async def attempt() -> Client:
        client = await connect(settings.temporal_address, settings.temporal_namespace)
        await client.workflow_service.get_system_info(GetSystemInfoRequest())
        return client

    return await wait_for(where, attempt, timeout=settings.startup_timeout_seconds)
