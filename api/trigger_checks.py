"""Novu's synchronous trigger checks, run after the workflow is found.

Order: reserved variables (400) → tenant (``no_tenant_found``) and its workflow override → active
(``trigger_not_active``) → steps (``no_workflow_steps_defined`` / ``no_workflow_active_steps_defined``) →
payload: a code workflow's pydantic model, or a REST workflow's required variables (400) and default values.
What is read from the database (definition, tenant, override) comes through the API process's
``ConfigCache``, which drops it when any write to those tables commits (``store/config_versions.py``),
so a ``PUT`` — through any API process, or straight into the database — takes effect on the next trigger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from api.errors import BadRequest, validation_messages
from store.config_cache import ConfigCache, LazySession
from store.models import Tenant, WorkflowDefinition, WorkflowOverride
from store.tenants import get_override, get_tenant
from workflows.catalog import code_workflow
from workflows.paths import MISSING, deep_merge, get_path, set_path
from workflows.step_json import scheduled_delay_path, step_active, step_variables

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}.\d{3}Z")
MISSING_KEYS = "payload is missing required key(s) and type(s): "


@dataclass
class Admission:
    """What the checks decided: a non-``processed`` status ends the trigger; otherwise deliver with these."""

    status: str = "processed"
    payload: dict[str, Any] = field(default_factory=dict)
    tenant: dict[str, Any] | None = None
    override_preferences: dict[str, bool] | None = None


def reserved_variables_missing(row: WorkflowDefinition, tenant: Any, actor: Any) -> list[str]:
    used = {r.get("type") for t in row.triggers or [] for r in t.get("reservedVariables") or []}
    missing = []
    tenant_id = tenant if isinstance(tenant, str) else (tenant or {}).get("identifier")
    actor_id = actor if isinstance(actor, str | int) else (actor or {}).get("subscriberId")
    if "tenant" in used and not tenant_id:
        missing.append("Trigger is missing: tenant object")
    if "actor" in used and not actor_id:
        missing.append("Trigger is missing: subscriberId property of actor")
    return missing


def _variables(row: WorkflowDefinition) -> list[dict[str, Any]]:
    return step_variables(row.steps or [])


def missing_required(row: WorkflowDefinition, payload: dict[str, Any]) -> list[str]:
    """``name (Type)`` for every required variable absent or of the wrong type, Novu's way."""
    invalid: list[str] = []
    for variable in _variables(row):
        if not variable.get("required"):
            continue
        name, kind = str(variable["name"]), str(variable.get("type") or "String")
        value = get_path(payload, name)
        if kind == "Array":
            ok, label = isinstance(value, list), "Array"
        elif kind == "Boolean":
            ok, label = isinstance(value, bool), "Boolean"
        elif kind == "String":
            ok, label = isinstance(value, str | int | float) and not isinstance(value, bool), "Value"
        else:
            ok, label = value is not MISSING and value is not None, "Value"
        if not ok:
            invalid.append(f"{name} ({label})")
    for step in row.steps or []:
        path = scheduled_delay_path(step)
        if path is not None:
            value = get_path(payload, path) if path else MISSING
            if not (isinstance(value, str) and ISO_DATE.fullmatch(value)):
                invalid.append(f"{path} (ISO Date)")
    return invalid


def with_defaults(row: WorkflowDefinition, payload: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for variable in _variables(row):
        if variable.get("defaultValue") not in (None, ""):
            set_path(defaults, str(variable["name"]), variable["defaultValue"])
    return deep_merge(defaults, payload) if defaults else payload


def validate_code_payload(row: WorkflowDefinition, payload: dict[str, Any]) -> dict[str, Any]:
    """A code workflow's payload must fit its pydantic model (400 listing the fields otherwise);
    returns the payload with the model's defaults filled in under it."""
    entry = code_workflow(row.trigger_identifier)
    if entry is None:
        return payload
    try:
        validated = entry.payload_model.model_validate(payload)
    except ValidationError as exc:
        errors = [{**e, "loc": ("payload", *e["loc"])} for e in exc.errors()]
        raise BadRequest(validation_messages(errors, None)) from exc
    return {**payload, **validated.model_dump(mode="json")}


def tenant_context(tenant: Tenant) -> dict[str, Any]:
    """What templates and conditions see as ``tenant`` (the trigger carries it to the workflow)."""
    return {"_id": tenant.id, "identifier": tenant.identifier, "name": tenant.name, "data": tenant.data or {}}


async def tenant_and_override(
    *, lazy: LazySession, environment_id: str, identifier: str, definition_id: str
) -> tuple[Tenant | None, WorkflowOverride | None]:
    session = await lazy.get()
    found = await get_tenant(session=session, environment_id=environment_id, identifier=identifier)
    if found is None:
        return None, None
    override = await get_override(
        session=session, environment_id=environment_id, workflow_id=definition_id, tenant_id=found.id
    )
    return found, override


async def admit(
    *,
    lazy: LazySession,
    cache: ConfigCache | None,
    environment_id: str,
    row: WorkflowDefinition,
    payload: dict[str, Any],
    tenant: Any,
    actor: Any,
) -> Admission:
    """Run the checks for one trigger of ``row``; raises 400 ``BadRequest`` where Novu does."""
    missing = reserved_variables_missing(row, tenant, actor)
    if missing:
        raise BadRequest(", ".join(missing))
    admission = Admission()
    active = row.active
    if tenant is not None:
        identifier = str(tenant if isinstance(tenant, str) else tenant.get("identifier"))

        async def read() -> tuple[Tenant | None, WorkflowOverride | None]:
            return await tenant_and_override(
                lazy=lazy, environment_id=environment_id, identifier=identifier, definition_id=row.id
            )

        key = ("tenant", identifier, row.id)
        if cache is None:
            found, override = await read()
        else:
            found, override = await cache.fetch(environment_id, key, read, stamp=lazy.stamp)
        if found is None:
            return Admission(status="no_tenant_found")
        admission.tenant = tenant_context(found)
        if override is not None:
            active = override.active
            admission.override_preferences = override.preference_settings
    steps = row.steps or []
    if not active:
        admission.status = "trigger_not_active"
    elif not steps:
        admission.status = "no_workflow_steps_defined"
    elif not any(step_active(s) for s in steps):
        admission.status = "no_workflow_active_steps_defined"
    if admission.status != "processed":
        return admission
    if row.origin == "code":
        admission.payload = validate_code_payload(row, payload)
        return admission
    invalid = missing_required(row, payload)
    if invalid:
        raise BadRequest(MISSING_KEYS + ", ".join(invalid))
    admission.payload = with_defaults(row, payload)
    return admission
