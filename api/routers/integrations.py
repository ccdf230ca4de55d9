"""``/v1/integrations``: provider credentials per environment. Responses mask secret credential fields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from api.deps import CurrentEnv, DbDep, SettingsDep
from api.errors import BadRequest, Conflict, NotFound
from api.responses import IntegrationOut
from api.views import integration_view
from api.wire import Data, WireRouter, ok
from store.crypto import CredentialCipher
from store.integrations import (
    IntegrationError,
    create_integration,
    delete_integration,
    get_integration,
    list_integrations,
    set_primary,
    update_integration,
)

router = WireRouter(prefix="/v1/integrations", tags=["integrations"])


class CreateIntegrationBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    providerId: str
    channel: str
    name: str | None = None
    identifier: str | None = None
    credentials: dict[str, Any] | None = None
    active: bool = False
    check: bool | None = None
    conditions: list[dict[str, Any]] | None = None


class UpdateIntegrationBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    identifier: str | None = None
    active: bool | None = None
    credentials: dict[str, Any] | None = None
    check: bool | None = None
    conditions: list[dict[str, Any]] | None = None


def cipher(settings: SettingsDep) -> CredentialCipher:
    return settings.credential_cipher()


def refuse(exc: IntegrationError) -> Exception:
    return Conflict(str(exc)) if exc.kind == "conflict" else BadRequest(str(exc))


async def views(
    db: DbDep, env: CurrentEnv, settings: SettingsDep, active: bool | None = None
) -> list[dict[str, Any]]:
    async with db.session() as session:
        rows = await list_integrations(session=session, environment_id=env.id, active=active)
    return [integration_view(r, cipher(settings)) for r in rows]


@router.get("", response_model=Data[list[IntegrationOut]])
async def get_integrations(env: CurrentEnv, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    return ok(await views(db, env, settings))


@router.get("/active", response_model=Data[list[IntegrationOut]])
async def get_active_integrations(env: CurrentEnv, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    return ok(await views(db, env, settings, active=True))


@router.get("/webhook/provider/{provider_or_integration_id}/status", response_model=Data[bool])
async def webhook_status(provider_or_integration_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    """Whether Tidings ingests delivery webhooks from this provider: not yet for any (always false)."""
    async with db.session() as session:
        rows = await list_integrations(session=session, environment_id=env.id)
    if not any(provider_or_integration_id in (r.id, r.provider_id) for r in rows):
        raise NotFound(f"Integration {provider_or_integration_id} not found")
    return ok(False)


@router.post("", status_code=201, response_model=Data[IntegrationOut])
async def post_integration(
    body: CreateIntegrationBody, env: CurrentEnv, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    try:
        async with db.session() as session:
            row = await create_integration(
                session=session,
                cipher=cipher(settings),
                environment_id=env.id,
                organization_id=env.organization_id,
                provider_id=body.providerId,
                channel=body.channel,
                name=body.name,
                identifier=body.identifier,
                credentials=body.credentials,
                active=body.active,
                conditions=body.conditions,
            )
    except IntegrationError as exc:
        raise refuse(exc) from exc
    return ok(integration_view(row, cipher(settings)))


@router.put("/{integration_id}", response_model=Data[IntegrationOut])
async def put_integration(
    integration_id: str, body: UpdateIntegrationBody, env: CurrentEnv, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    try:
        async with db.session() as session:
            row = await get_integration(session=session, environment_id=env.id, integration_id=integration_id)
            if row is None:
                raise NotFound(f"Entity with id {integration_id} not found")
            row = await update_integration(
                session=session, cipher=cipher(settings), row=row, changes=body.model_dump(exclude_unset=True)
            )
    except IntegrationError as exc:
        raise refuse(exc) from exc
    return ok(integration_view(row, cipher(settings)))


@router.delete("/{integration_id}", response_model=Data[list[IntegrationOut]])
async def remove_integration(
    integration_id: str, env: CurrentEnv, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    async with db.session() as session:
        row = await get_integration(session=session, environment_id=env.id, integration_id=integration_id)
        if row is None:
            raise NotFound(f"Entity with id {integration_id} not found")
        await delete_integration(session=session, row=row)
    return ok(await views(db, env, settings))


@router.post("/{integration_id}/set-primary", status_code=200, response_model=Data[IntegrationOut])
async def post_set_primary(
    integration_id: str, env: CurrentEnv, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    try:
        async with db.session() as session:
            row = await get_integration(session=session, environment_id=env.id, integration_id=integration_id)
            if row is None:
                raise NotFound(f"Integration with id {integration_id} not found")
            row = await set_primary(session=session, row=row)
    except IntegrationError as exc:
        raise refuse(exc) from exc
    return ok(integration_view(row, cipher(settings)))
