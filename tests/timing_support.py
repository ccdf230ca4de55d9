"""Helpers for the delay, digest, throttle and cancel tests: REST workflow definitions and feed reads."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from store.digests import accumulator_id, subscriber_key
from store.models import WorkflowDefinition
from tests.support import Env, Stack
from worker import build_worker


def step(step_id: str, type_: str, content: str = "", **metadata: Any) -> dict[str, Any]:
    """A Novu step; channel steps take ``content``, action steps take ``metadata``."""
    return {
        "_id": step_id,
        "uuid": step_id,
        "active": True,
        "template": {"type": type_, "content": content},
        "metadata": metadata,
    }


def digest(step_id: str = "digest", **metadata: Any) -> dict[str, Any]:
    return step(step_id, "digest", **{"type": "regular", "amount": 2, "unit": "seconds", **metadata})


def in_app(step_id: str, content: str) -> dict[str, Any]:
    return step(step_id, "in_app", content)


def digest_accumulator(environment_id: str, definition_id: str, subscriber_id: str) -> str:
    """The workflow ID of ``subscriber_id``'s accumulator for the step ``digest`` (no digest key)."""
    return accumulator_id(
        environment_id=environment_id,
        definition_id=definition_id,
        step_id="digest",
        subscriber_id=subscriber_key(subscriber_id),
        key_value=None,
    )


async def define(env: Env, identifier: str, steps: list[dict[str, Any]]) -> str:
    """Store a REST workflow definition (Novu step JSON) in the environment."""
    row = WorkflowDefinition(
        environment_id=env.id,
        name=identifier,
        trigger_identifier=identifier,
        origin="rest",
        steps=steps,
        preference_settings={"in_app": True, "email": True},
    )
    async with env.stack.db.session() as session:
        session.add(row)
        await session.flush()
        return row.id


async def in_app_contents(env: Env, subscriber_id: str, step_id: str | None = None) -> list[str]:
    """In-app message contents of a subscriber, oldest first."""
    rows = await env.sql(
        "select m.content, m.step_id from messages m join subscribers s on s.id = m.subscriber_id "
        "where s.subscriber_id = :sid and m.environment_id = :env and m.channel = 'in_app' "
        "order by m.created_at",
        sid=subscriber_id,
        env=env.id,
    )
    return [str(c).strip('"') for c, s in rows if step_id is None or s == step_id]


async def details(env: Env, transaction_id: str) -> list[str]:
    rows = await env.sql(
        "select detail from execution_details where environment_id = :env and transaction_id = :tx "
        "order by created_at",
        env=env.id,
        tx=transaction_id,
    )
    return [r[0] for r in rows]


async def settle_digests(env: Env, timeout: float = 60, client: Client | None = None) -> None:
    """Wait until every digest accumulator of the environment has completed (following continue-as-new)
    and so has every execution its windows started (ID ``<accumulator>:<run that fired>``).

    Call it after the triggers settled (their events joined): from then on no digest of this
    environment can send anything more, so a count taken afterwards is final — no sleep needed."""
    client = client or env.stack.client
    rows = await env.sql(
        "select distinct accumulator_id from digest_events where environment_id = :e", e=env.id
    )
    for (accumulator,) in rows:
        await asyncio.wait_for(client.get_workflow_handle(accumulator).result(), timeout)
    fired = await env.sql(
        "select distinct accumulator_id, fired_by from digest_events where environment_id = :e "
        "and fired_by is not null",
        e=env.id,
    )
    for accumulator, run in fired:
        await asyncio.wait_for(client.get_workflow_handle(f"{accumulator}:{run}").result(), timeout)


@contextlib.asynccontextmanager
async def time_skipping_stack(stack: Stack) -> AsyncIterator[tuple[Stack, WorkflowEnvironment]]:
    """The same app database, but an API and worker on Temporal's time-skipping test server:
    ``server.sleep(hours)`` moves its clock (timers fire at once)."""
    server = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    settings = stack.settings.model_copy(update={"task_queue": f"skip-{secrets.token_hex(4)}"})
    app = create_app(settings, db=stack.db, temporal=server.client)
    worker = build_worker(client=server.client, db=stack.db, settings=settings)
    try:
        async with app.router.lifespan_context(app), worker:
            skipping = Stack(
                name="skip",
                db=stack.db,
                client=server.client,
                settings=settings,
                app=app,
                worker=worker,
                mailbox=stack.mailbox,
            )
            yield skipping, server
            await skipping.close_clients()
    finally:
        await server.shutdown()
