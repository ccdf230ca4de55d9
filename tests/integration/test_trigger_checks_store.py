"""Novu's synchronous trigger checks (``api/trigger_checks.py``) on real PostgreSQL, without Temporal:
the fast test selection ``make mutation`` runs against trigger admission."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.errors import BadRequest
from api.trigger_checks import admit, missing_required, reserved_variables_missing, with_defaults
from store.config_cache import lazy_session
from store.db import Database
from store.models import Environment, Organization, Tenant, WorkflowDefinition, WorkflowOverride

STEP = {"template": {"type": "in_app", "content": "hi"}}


def definition(**fields: Any) -> WorkflowDefinition:
    values: dict[str, Any] = {
        "environment_id": "e",
        "name": "wf",
        "trigger_identifier": f"wf-{secrets.token_hex(3)}",
        "steps": [STEP],
    }
    values.update(fields)
    return WorkflowDefinition(**values)


def variables(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"template": {"type": "in_app", "variables": list(items)}}]


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    yield database
    await database.dispose()


class Tenancy:
    """An environment with a REST workflow and tenants ``plain``, ``off`` (override inactive) and
    ``prefs`` (override active, with preference settings)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.org = Organization(name="org")
        self.env = Environment(
            organization_id=self.org.id, name="env", identifier=f"env-{secrets.token_hex(4)}"
        )
        self.row = definition(environment_id=self.env.id)
        self.tenants = {
            name: Tenant(environment_id=self.env.id, identifier=name, name=name.title(), data={"n": name})
            for name in ("plain", "off", "prefs", "gone")
        }

    async def create(self) -> None:
        async with self.db.session() as session:
            session.add(self.org)
            await session.flush()
            session.add(self.env)
            await session.flush()
            session.add(self.row)
            session.add_all(self.tenants.values())
            await session.flush()
            session.add_all(
                [
                    WorkflowOverride(
                        environment_id=self.env.id,
                        workflow_id=self.row.id,
                        tenant_id=self.tenants["off"].id,
                        active=False,
                    ),
                    WorkflowOverride(
                        environment_id=self.env.id,
                        workflow_id=self.row.id,
                        tenant_id=self.tenants["prefs"].id,
                        preference_settings={"email": False},
                    ),
                    WorkflowOverride(
                        environment_id=self.env.id,
                        workflow_id=self.row.id,
                        tenant_id=self.tenants["gone"].id,
                        active=False,
                        deleted=True,
                    ),
                ]
            )

    async def admit(
        self, row: WorkflowDefinition | None = None, tenant: Any = None, payload: Any = None
    ) -> Any:
        async with lazy_session(self.db) as lazy:  # no cache: every check reads the database
            return await admit(
                lazy=lazy,
                cache=None,
                environment_id=self.env.id,
                row=row or self.row,
                payload=payload or {},
                tenant=tenant,
                actor=None,
            )


@pytest.fixture
async def tenancy(db: Database) -> Tenancy:
    t = Tenancy(db)
    await t.create()
    return t


def test_reserved_variables() -> None:
    both = definition(triggers=[{"reservedVariables": [{"type": "tenant"}, {"type": "actor"}]}])
    tenant_missing, actor_missing = (
        "Trigger is missing: tenant object",
        "Trigger is missing: subscriberId property of actor",
    )
    assert reserved_variables_missing(both, None, None) == [tenant_missing, actor_missing]
    assert reserved_variables_missing(both, "acme", "ada") == []
    assert reserved_variables_missing(both, {"identifier": "acme"}, {"subscriberId": "ada"}) == []
    assert reserved_variables_missing(both, {"name": "x"}, {"firstName": "x"}) == [
        tenant_missing,
        actor_missing,
    ]
    assert reserved_variables_missing(both, "acme", 7) == []
    assert reserved_variables_missing(definition(), None, None) == []


def test_missing_required_follows_novu_types() -> None:
    row = definition(
        steps=variables(
            {"name": "s", "required": True},
            {"name": "n", "required": True, "type": "Number"},
            {"name": "a", "required": True, "type": "Array"},
            {"name": "b", "required": True, "type": "Boolean"},
            {"name": "deep.x", "required": True, "type": "String"},
            {"name": "optional", "type": "Array"},
        )
    )
    assert missing_required(row, {}) == [
        "s (Value)",
        "n (Value)",
        "a (Array)",
        "b (Boolean)",
        "deep.x (Value)",
    ]
    full = {"s": 1, "n": 0, "a": [], "b": False, "deep": {"x": "v"}, "optional": "not a list"}
    assert missing_required(row, full) == []
    assert missing_required(row, {**full, "s": True, "n": None, "a": "x", "b": "true"}) == [
        "s (Value)",
        "n (Value)",
        "a (Array)",
        "b (Boolean)",
    ]
    assert missing_required(row, {**full, "s": 1.5}) == []


def test_scheduled_delay_needs_an_iso_date() -> None:
    row = definition(
        steps=[
            STEP,
            {"template": {"type": "delay"}, "metadata": {"type": "scheduled", "delayPath": "when"}},
            {"template": {"type": "delay"}, "metadata": {"type": "regular", "delayPath": "other"}},
        ]
    )
    assert missing_required(row, {}) == ["when (ISO Date)"]
    assert missing_required(row, {"when": "2026-12-01"}) == ["when (ISO Date)"]
    assert missing_required(row, {"when": "2026-12-01T10:00:00.000Z"}) == []


def test_defaults_fill_in_under_the_payload() -> None:
    row = definition(
        steps=variables(
            {"name": "greeting", "defaultValue": "Hi"},
            {"name": "deep.v", "defaultValue": 1},
            {"name": "empty", "defaultValue": ""},
            {"name": "none"},
        )
    )
    assert with_defaults(row, {"greeting": "Yo"}) == {"greeting": "Yo", "deep": {"v": 1}}
    assert with_defaults(definition(), {"x": 1}) == {"x": 1}


async def test_status_of_inactive_and_stepless_workflows(tenancy: Tenancy) -> None:
    assert (await tenancy.admit()).status == "processed"
    assert (await tenancy.admit(definition(active=False))).status == "trigger_not_active"
    assert (await tenancy.admit(definition(steps=[]))).status == "no_workflow_steps_defined"
    inactive_steps = definition(steps=[{**STEP, "active": False}])
    assert (await tenancy.admit(inactive_steps)).status == "no_workflow_active_steps_defined"
    one_active = definition(steps=[{**STEP, "active": False}, STEP])
    assert (await tenancy.admit(one_active)).status == "processed"


async def test_payload_checks_raise_400_and_apply_defaults(tenancy: Tenancy) -> None:
    row = definition(
        steps=variables({"name": "name", "required": True}, {"name": "app", "defaultValue": "T"})
    )
    with pytest.raises(BadRequest) as missing:
        await tenancy.admit(row)
    assert str(missing.value) == "payload is missing required key(s) and type(s): name (Value)"
    assert (await tenancy.admit(row, payload={"name": "Ada"})).payload == {"name": "Ada", "app": "T"}
    reserved = definition(triggers=[{"reservedVariables": [{"type": "tenant"}]}])
    with pytest.raises(BadRequest, match="tenant object"):
        await tenancy.admit(reserved)
    # An inactive workflow is reported before its payload is judged.
    assert (await tenancy.admit(definition(active=False, steps=row.steps))).status == "trigger_not_active"


async def test_code_workflow_payload_is_validated_by_its_model(tenancy: Tenancy) -> None:
    welcome = definition(trigger_identifier="welcome", origin="code")
    admitted = await tenancy.admit(welcome, payload={"name": "Ada"})
    assert admitted.payload == {"name": "Ada", "app_name": "Tidings"}
    with pytest.raises(BadRequest):
        await tenancy.admit(welcome, payload={"other": 1})
    # Required REST variables are not asked of a code workflow.
    coded = definition(
        trigger_identifier="welcome", origin="code", steps=variables({"name": "x", "required": True})
    )
    assert (await tenancy.admit(coded, payload={"name": "Ada"})).status == "processed"


async def test_tenant_and_its_workflow_override(tenancy: Tenancy) -> None:
    unknown = await tenancy.admit(tenant="nobody")
    assert (unknown.status, unknown.tenant) == ("no_tenant_found", None)
    plain = await tenancy.admit(tenant="plain")
    assert plain.status == "processed" and plain.override_preferences is None
    assert plain.tenant == {
        "_id": tenancy.tenants["plain"].id,
        "identifier": "plain",
        "name": "Plain",
        "data": {"n": "plain"},
    }
    assert (await tenancy.admit(tenant={"identifier": "plain"})).tenant == plain.tenant
    off = await tenancy.admit(tenant={"identifier": "off"})
    assert off.status == "trigger_not_active"
    prefs = await tenancy.admit(tenant="prefs")
    assert (prefs.status, prefs.override_preferences) == ("processed", {"email": False})
    assert (await tenancy.admit(tenant="gone")).status == "processed"  # a deleted override counts for nothing
    # An active override turns an inactive workflow on for that tenant only.
    async with tenancy.db.session() as session:
        row = await session.get(WorkflowDefinition, tenancy.row.id)
        assert row is not None
        row.active = False
        session.add(row)
    inactive = tenancy.row.model_copy(update={"active": False})
    assert (await tenancy.admit(inactive, tenant="prefs")).status == "processed"
    assert (await tenancy.admit(inactive, tenant="plain")).status == "trigger_not_active"
    # Another environment's tenant is unknown here.
    async with lazy_session(tenancy.db) as lazy:
        other = await admit(
            lazy=lazy,
            cache=None,
            environment_id="elsewhere",
            row=tenancy.row,
            payload={},
            tenant="plain",
            actor=None,
        )
    assert other.status == "no_tenant_found"


def test_an_optional_variable_does_not_hide_the_required_after_it() -> None:
    row = definition(steps=variables({"name": "optional"}, {"name": "needed", "required": True}))
    assert missing_required(row, {}) == ["needed (Value)"]
