"""``/v1/webhooks``: outbound webhook endpoints of an environment, their secrets and delivery log.

The signing secret is returned in full only by create and ``GET /v1/webhooks/{id}/secret``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from pydantic import AfterValidator, BaseModel, ConfigDict, StrictBool
from pydantic_core import PydanticCustomError

from api.deps import CurrentEnv, DbDep, SettingsDep
from api.errors import BadRequest, NotFound
from api.responses import Deleted, SecretOut, WebhookDeliveryOut, WebhookEndpointOut
from api.views import delivery_view, endpoint_view
from api.wire import Data, Page, WireRouter, ok, query_int
from store.crypto import CredentialCipher
from store.db import Database
from store.models import WebhookEndpoint
from store.webhook_events import EVENT_TYPES
from store.webhooks import (
    create_endpoint,
    delete_endpoint,
    endpoint_secret,
    get_delivery,
    get_endpoint,
    list_deliveries,
    list_endpoints,
    reset_for_resend,
    update_endpoint,
)
from tidings.outbound import destination_refusal
from tidings.settings import Settings

router = WireRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _known_events(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = [v for v in value if v not in EVENT_TYPES]
    if unknown:
        raise PydanticCustomError(
            "enum_invalid",
            "each value in events must be one of the following values: " + ", ".join(EVENT_TYPES),
        )
    return list(dict.fromkeys(value))


Events = Annotated[list[str] | None, AfterValidator(_known_events)]


class CreateWebhookBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    url: str
    events: Events = None
    description: str | None = None
    active: StrictBool = True


class UpdateWebhookBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    url: str | None = None
    events: Events = None
    description: str | None = None
    active: StrictBool | None = None


def cipher(settings: Settings) -> CredentialCipher:
    return CredentialCipher(settings.resolved_secret_key())


async def check_url(url: str, settings: Settings) -> str:
    url = url.strip()
    refusal = await destination_refusal(url, allow_private=settings.allow_private_destinations)
    if refusal is not None:
        raise BadRequest([refusal])
    return url


async def require(db: Database, env: CurrentEnv, endpoint_id: str) -> WebhookEndpoint:
    async with db.session() as session:
        row = await get_endpoint(session=session, environment_id=env.id, endpoint_id=endpoint_id)
    if row is None:
        raise NotFound(f"Webhook endpoint with id {endpoint_id} not found")
    return row


@router.post("", status_code=201, response_model=Data[WebhookEndpointOut])
async def create(
    body: CreateWebhookBody, env: CurrentEnv, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    url = await check_url(body.url, settings)
    async with db.session() as session:
        row, secret = await create_endpoint(
            session=session,
            cipher=cipher(settings),
            environment_id=env.id,
            url=url,
            events=body.events or [],
            description=body.description,
            active=body.active,
        )
    return ok(endpoint_view(row, secret=secret))


@router.get("", response_model=Data[list[WebhookEndpointOut]])
async def list_all(env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        rows = await list_endpoints(session=session, environment_id=env.id)
    return ok([endpoint_view(r) for r in rows])


@router.get("/{endpoint_id}", response_model=Data[WebhookEndpointOut])
async def read(endpoint_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    return ok(endpoint_view(await require(db, env, endpoint_id)))


@router.get("/{endpoint_id}/secret", response_model=Data[SecretOut])
async def secret(endpoint_id: str, env: CurrentEnv, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    row = await require(db, env, endpoint_id)
    return ok({"secret": endpoint_secret(row, cipher(settings))})


@router.patch("/{endpoint_id}", response_model=Data[WebhookEndpointOut])
async def update(
    endpoint_id: str, body: UpdateWebhookBody, env: CurrentEnv, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        changes["url"] = await check_url(changes["url"], settings)
    changes = {k: v for k, v in changes.items() if v is not None or k == "description"}
    async with db.session() as session:
        row = await get_endpoint(session=session, environment_id=env.id, endpoint_id=endpoint_id)
        if row is None:
            raise NotFound(f"Webhook endpoint with id {endpoint_id} not found")
        await update_endpoint(session=session, row=row, changes=changes)
    return ok(endpoint_view(row))


@router.delete("/{endpoint_id}", response_model=Data[Deleted])
async def remove(endpoint_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        row = await get_endpoint(session=session, environment_id=env.id, endpoint_id=endpoint_id)
        if row is None:
            raise NotFound(f"Webhook endpoint with id {endpoint_id} not found")
        await delete_endpoint(session=session, row=row)
    return ok({"acknowledged": True, "status": "deleted"})


@router.get("/{endpoint_id}/deliveries", response_model=Page[WebhookDeliveryOut])
async def deliveries(endpoint_id: str, env: CurrentEnv, db: DbDep, request: Request) -> dict[str, Any]:
    page = query_int("page", request.query_params.get("page"), default=0, minimum=0)
    limit = query_int("limit", request.query_params.get("limit"), default=10, minimum=1, maximum=100)
    await require(db, env, endpoint_id)
    async with db.session() as session:
        rows = await list_deliveries(session=session, endpoint_id=endpoint_id, page=page, limit=limit)
    return {
        "data": [delivery_view(r) for r in rows],
        "page": page,
        "pageSize": limit,
        "hasMore": len(rows) == limit,
    }


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/resend", status_code=201, response_model=Data[WebhookDeliveryOut]
)
async def resend(
    endpoint_id: str, delivery_id: str, env: CurrentEnv, db: DbDep, request: Request
) -> dict[str, Any]:
    """Send one delivery again with the same ``webhook-id`` (receivers de-duplicate on it)."""
    await require(db, env, endpoint_id)
    async with db.session() as session:
        row = await get_delivery(session=session, endpoint_id=endpoint_id, delivery_id=delivery_id)
        if row is None:
            raise NotFound(f"Webhook delivery with id {delivery_id} not found")
        await reset_for_resend(session=session, row=row)
    await request.app.state.webhooks.dispatch([row.id])
    return ok(delivery_view(row))
