"""Accepting a trigger: Novu's synchronous checks, then exactly one Temporal call."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.digest_front import FrontDigest, plan
from api.errors import TidingsError, Unprocessable, validation_messages
from api.limits import check_delay_override, check_transaction_id, check_trigger_size
from api.signal_batch import SignalBatcher
from api.trigger_checks import admit
from store.config_cache import ConfigCache, LazySession, lazy_session
from store.db import Database
from store.definitions import get_definition
from store.models import WorkflowDefinition
from store.tenancy import EnvironmentRef
from tidings.settings import Settings
from tidings.temporal import TRANSACTION_ID
from workflows.digest import ADD_MANY_SIGNAL
from workflows.models import (
    DIGEST_ACCUMULATOR_WORKFLOW,
    NOTIFICATION_WORKFLOW,
    AccumulatorInput,
    DeliveryContext,
    DigestSignal,
    RunInput,
    WorkflowSnapshot,
    execution_id,
)

log = logging.getLogger("tidings.trigger")


class TriggerBody(BaseModel):
    """``POST /v1/events/trigger`` (Novu's ``TriggerEventRequestDto``)."""

    model_config = ConfigDict(extra="allow")
    name: str
    to: str | int | dict[str, Any] | list[Any]
    payload: dict[str, Any] = Field(default_factory=dict)
    overrides: dict[str, Any] = Field(default_factory=dict)
    transactionId: str | None = None
    actor: str | dict[str, Any] | None = None
    tenant: str | dict[str, Any] | None = None

    _transaction_id = field_validator("transactionId")(check_transaction_id)

    @model_validator(mode="after")
    def _within_limits(self) -> TriggerBody:
        """docs/limits.md: size and nesting of the trigger's data, and a sane ``overrides.delay``."""
        check_trigger_size(
            {
                "payload": self.payload,
                "overrides": self.overrides,
                "to": self.to,
                "actor": self.actor,
                "tenant": self.tenant,
            }
        )
        check_delay_override(self.overrides)
        return self


def snapshot(row: WorkflowDefinition) -> WorkflowSnapshot:
    return WorkflowSnapshot(
        id=row.id,
        identifier=row.trigger_identifier,
        name=row.name,
        origin="code" if row.origin == "code" else "rest",
        critical=row.critical,
        preference_settings=dict(row.preference_settings or {}),
        tags=list(row.tags or []),
        steps=list(row.steps or []) if row.origin != "code" else [],
    )


def normalize_to(to: Any) -> list[Any]:
    return list(to) if isinstance(to, list) else [to]


def normalize_actor(actor: Any) -> dict[str, Any] | None:
    if actor is None:
        return None
    if isinstance(actor, str | int):
        return {"subscriberId": str(actor)}
    return dict(actor)


def normalize_tenant(tenant: Any) -> dict[str, Any] | None:
    if tenant is None:
        return None
    if isinstance(tenant, str):
        return {"identifier": tenant}
    return dict(tenant)


def recipients_text(to: list[Any], broadcast: bool = False) -> str:
    """``ada, bo, topic news (+3)``: who a trigger goes to, by subscriberId or topic key."""
    names: list[str] = []
    for recipient in to:
        if isinstance(recipient, dict):
            names.append(str(recipient.get("subscriberId") or f"topic {recipient.get('topicKey', '?')}"))
        else:
            names.append(str(recipient))
    if broadcast:
        names = ["every subscriber"]
    return (", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")) or "nobody"


def execution_summary(run: RunInput) -> str:
    """The Temporal UI's summary of a notification execution: the workflow and who it goes to."""
    return f"{run.context.workflow.identifier} → {recipients_text(run.to, run.broadcast)}"[:200]


class TriggerService:
    """Everything the trigger routes need, built once per app."""

    def __init__(
        self,
        *,
        db: Database,
        temporal: Client,
        settings: Settings,
        with_search_attribute: bool,
        cache: ConfigCache | None = None,
    ) -> None:
        self.db = db
        self.temporal = temporal
        self.settings = settings
        self.with_search_attribute = with_search_attribute
        self.cache = cache
        self.digest_signals = SignalBatcher()

    async def load(
        self, env: EnvironmentRef, name: str, lazy: LazySession
    ) -> tuple[WorkflowDefinition, WorkflowSnapshot]:
        """The live definition triggered as ``name`` and its snapshot for the execution (both cached while
        the environment's stamp holds; neither is modified by a trigger)."""

        async def read() -> tuple[WorkflowDefinition, WorkflowSnapshot] | None:
            row = await get_definition(session=await lazy.get(), environment_id=env.id, key=name, by_id=False)
            return (row, snapshot(row)) if row is not None else None

        if self.cache is None:
            found = await read()
        else:
            found = await self.cache.fetch(env.id, ("definition", name), read, stamp=lazy.stamp)
        if found is None:
            raise Unprocessable("workflow_not_found")
        return found

    async def trigger(
        self, env: EnvironmentRef, body: TriggerBody, *, broadcast: bool = False
    ) -> dict[str, Any]:
        # Every cache miss of this trigger shares one read session; a warm cache opens none.
        stamp = self.cache.stamp(env.id) if self.cache is not None else None
        async with lazy_session(self.db, stamp) as lazy:
            row, workflow = await self.load(env, body.name, lazy)
            admission = await admit(
                lazy=lazy,
                cache=self.cache,
                environment_id=env.id,
                row=row,
                payload=body.payload,
                tenant=normalize_tenant(body.tenant),
                actor=body.actor,
            )
        transaction_id = body.transactionId or str(uuid.uuid4())
        if admission.status == "no_tenant_found":
            return {"acknowledged": True, "status": admission.status}
        if admission.status != "processed":
            return {"acknowledged": True, "status": admission.status, "transactionId": transaction_id}
        context = DeliveryContext(
            environment_id=env.id,
            organization_id=env.organization_id,
            transaction_id=transaction_id,
            workflow=workflow,
            payload=admission.payload,
            overrides=body.overrides,
            actor=normalize_actor(body.actor),
            tenant=admission.tenant,
            override_preferences=admission.override_preferences,
        )
        to = normalize_to(body.to)
        front = plan(context, to, broadcast=broadcast)
        if front is not None:
            await self.start_digest(front, context)
        else:
            await self.start(RunInput(context=context, to=to, broadcast=broadcast))
        return {"acknowledged": True, "status": "processed", "transactionId": transaction_id}

    async def start(self, run: RunInput) -> None:
        """Start the notification execution once; a duplicate transactionId starts nothing."""
        tx = run.context.transaction_id
        attributes = (
            TypedSearchAttributes([SearchAttributePair(TRANSACTION_ID, tx)])
            if self.with_search_attribute
            else None
        )
        try:
            await self.temporal.start_workflow(
                NOTIFICATION_WORKFLOW,
                run,
                id=execution_id(run.context.environment_id, tx),
                task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=attributes,
                static_summary=execution_summary(run),
            )
        except WorkflowAlreadyStartedError:
            pass  # the same transaction ran already: Novu answers processed and sends nothing

    async def start_digest(self, front: FrontDigest, context: DeliveryContext) -> None:
        """The digest front door (:mod:`api.digest_front`): the event reaches the accumulator with one
        signal-with-start, shared with the other events for it that arrive meanwhile (:mod:`api.signal_batch`).
        A re-sent transactionId is ignored by the accumulator, or by the database once recorded."""

        async def send(signals: list[DigestSignal]) -> None:
            await self.temporal.start_workflow(
                DIGEST_ACCUMULATOR_WORKFLOW,
                AccumulatorInput(
                    environment_id=context.environment_id, subscriber_id="", step_id=front.step_id
                ),
                id=front.accumulator_id,
                task_queue=self.settings.task_queue,
                start_signal=ADD_MANY_SIGNAL,
                start_signal_args=[signals],
                static_summary=f"digest · {context.workflow.identifier} → {front.subscriber_id}"[:200],
            )

        await self.digest_signals.submit(front.accumulator_id, front.signal, send)

    async def trigger_bulk(self, env: EnvironmentRef, events: list[Any]) -> list[dict[str, Any]]:
        """``POST /v1/events/trigger/bulk``: each event like a single trigger; a failing one becomes
        ``{acknowledged, status: "error", error: [...]}`` and the others proceed. Results keep request order."""
        return list(await asyncio.gather(*(self._bulk_item(env, event) for event in events)))

    async def _bulk_item(self, env: EnvironmentRef, event: Any) -> dict[str, Any]:
        """One event of a bulk trigger: its own result whatever happens (Novu's per-item semantics), so the
        request never fails after other events were started (a 500 there made clients retry them all)."""
        try:
            body = TriggerBody.model_validate(event)
        except ValidationError as exc:
            return bulk_error(validation_messages([dict(e) for e in exc.errors()], TriggerBody))
        try:
            return await self.trigger(env, body)
        except TidingsError as exc:
            return bulk_error(exc.message if isinstance(exc.message, list) else [exc.message])
        except Exception:  # logged; the other events are still answered
            log.exception("bulk trigger event %s failed", body.transactionId)
            return bulk_error(["the event could not be started; it was not processed"])

    async def broadcast(self, env: EnvironmentRef, body: TriggerBody) -> dict[str, Any]:
        """``POST /v1/events/trigger/broadcast``: every subscriber of the environment. As in Novu the
        answer is ``processed`` whatever the workflow's state (only an unknown workflow is a 422)."""
        transaction_id = body.transactionId or str(uuid.uuid4())
        body = body.model_copy(update={"transactionId": transaction_id, "to": []})
        await self.trigger(env, body, broadcast=True)
        return {"acknowledged": True, "status": "processed", "transactionId": transaction_id}


def bulk_error(messages: list[Any]) -> dict[str, Any]:
    return {"acknowledged": True, "status": "error", "error": [str(m) for m in messages]}
