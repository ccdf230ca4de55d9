"""``/v1/subscribers``: create (upsert), bulk, list, read, update, delete, credentials, online status."""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from fastapi import Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool
from pydantic_core import PydanticCustomError
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import CurrentEnv, DbDep
from api.errors import BadRequest, NotFound
from api.limits import MAX_DEVICE_TOKENS
from api.responses import BulkSubscribersOut, Deleted, SubscriberOut
from api.views import subscriber_view
from api.wire import Data, Page, WireRouter, ok, query_int
from store.channel_credentials import remove_channel_credentials, set_channel_credentials
from store.models import Subscriber
from store.subscribers import (
    active_integration,
    bulk_upsert,
    delete_subscriber,
    get_subscriber,
    list_subscribers,
    set_online,
    update_subscriber,
    upsert_subscriber,
)
from store.tenancy import EnvironmentRef
from store.webhook_events import (
    SUBSCRIBER_CREATED,
    SUBSCRIBER_DELETED,
    SUBSCRIBER_UPDATED,
    emit,
    emit_many,
)
from tidings.webhook_payloads import subscriber_data

router = WireRouter(prefix="/v1/subscribers", tags=["subscribers"])

_LOCALE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise PydanticCustomError("email_invalid", "must be an email") from None
    return value


def _email_or_blank(value: str | None) -> str | None:
    return value if value == "" else _email(value)


def _locale(value: str | None) -> str | None:
    if value is not None and not _LOCALE.match(value):
        raise PydanticCustomError("locale_invalid", "must be locale")
    return value


def _timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "timezone_invalid", "must be a valid IANA time zone name, such as Europe/Berlin"
        ) from None
    return value


Email = Annotated[str | None, AfterValidator(_email)]
Locale = Annotated[str | None, AfterValidator(_locale)]
Timezone = Annotated[str | None, AfterValidator(_timezone)]


class ChannelCredentials(BaseModel):
    """Novu's ``ChannelCredentials``: webhook URL, device tokens and the provider-specific extras."""

    model_config = ConfigDict(extra="allow")
    webhookUrl: str | None = None
    channel: str | None = None
    deviceTokens: list[str] | None = Field(default=None, max_length=MAX_DEVICE_TOKENS)


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")
    providerId: str
    integrationIdentifier: str | None = None
    credentials: ChannelCredentials


class SubscriberFields(BaseModel):
    """The fields a subscriber may carry. Nulls are accepted (the Python SDK sends them)."""

    model_config = ConfigDict(extra="ignore")
    email: Email = None
    firstName: str | None = None
    lastName: str | None = None
    phone: str | None = None
    avatar: str | None = None
    locale: Locale = None
    timezone: Timezone = None
    data: dict[str, Any] | None = None


class SubscriberBody(SubscriberFields):
    """Novu's ``CreateSubscriberRequestDto``."""

    subscriberId: str
    channels: list[ChannelSettings] | None = None


class UpdateSubscriberBody(SubscriberFields):
    """``PUT /v1/subscribers/{id}``: an empty ``email`` unsets it."""

    email: Annotated[str | None, AfterValidator(_email_or_blank)] = None


class BulkBody(BaseModel):
    subscribers: list[SubscriberBody] = Field(min_length=1, max_length=500)


class CredentialsBody(BaseModel):
    providerId: str
    integrationIdentifier: str | None = None
    credentials: ChannelCredentials


class OnlineBody(BaseModel):
    """``{"isOnline": bool}``; ``@novu/node`` sends ``{"online": bool}``."""

    isOnline: StrictBool | None = None
    online: StrictBool | None = None


async def require(
    session: AsyncSession, env: EnvironmentRef, subscriber_id: str, error: Exception
) -> Subscriber:
    sub = await get_subscriber(session=session, environment_id=env.id, subscriber_id=subscriber_id)
    if sub is None:
        raise error
    return sub


async def apply_credentials(
    session: AsyncSession,
    env: EnvironmentRef,
    sub: Subscriber,
    settings: ChannelSettings | CredentialsBody,
    *,
    append: bool,
) -> Subscriber:
    """Novu's ``UpdateSubscriberChannel``: needs an active integration of the provider."""
    integration = await active_integration(
        session=session,
        environment_id=env.id,
        provider_id=settings.providerId,
        identifier=settings.integrationIdentifier,
    )
    if integration is None:
        raise BadRequest(
            f"Subscribers environment ({env.id}) do not have active {settings.providerId} integration."
        )
    return await set_channel_credentials(
        session=session,
        row=sub,
        integration=integration,
        credentials=settings.credentials.model_dump(exclude_none=True),
        append=append,
    )


@router.get("", response_model=Page[SubscriberOut])
async def list_all(
    env: CurrentEnv, db: DbDep, page: str | None = Query(None), limit: str | None = Query(None)
) -> dict[str, Any]:
    page_n = query_int("page", page, default=0, minimum=0)
    limit_n = query_int("limit", limit, default=10, minimum=1, maximum=100)
    async with db.session() as session:
        rows = await list_subscribers(session=session, environment_id=env.id, page=page_n, limit=limit_n)
    return {
        "page": page_n,
        "hasMore": len(rows) == limit_n,
        "pageSize": limit_n,
        "data": [subscriber_view(s, organization_id=env.organization_id) for s in rows],
    }


@router.post("", status_code=201, response_model=Data[SubscriberOut])
async def create_subscriber(body: SubscriberBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    """Create, or update the non-null fields of an existing subscriber (Novu's upsert)."""
    async with db.session() as session:
        sub, created = await upsert_subscriber(
            session=session,
            environment_id=env.id,
            subscriber_id=body.subscriberId,
            fields=body.model_dump(exclude={"subscriberId", "channels"}),
        )
        for channel in body.channels or []:
            sub = await apply_credentials(session, env, sub, channel, append=True)
        event = SUBSCRIBER_CREATED if created else SUBSCRIBER_UPDATED
        await emit(session, environment_id=env.id, event=event, data=subscriber_data(sub))
    return ok(subscriber_view(sub, organization_id=env.organization_id))


@router.post("/bulk", status_code=201, response_model=Data[BulkSubscribersOut])
async def bulk_create(body: BulkBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        created, updated = await bulk_upsert(
            db=db,
            session=session,
            environment_id=env.id,
            subscribers=[s.model_dump(exclude={"channels"}) for s in body.subscribers],
        )
        await emit_many(
            session,
            environment_id=env.id,
            events=[(SUBSCRIBER_CREATED, {"subscriberId": s}) for s in created]
            + [(SUBSCRIBER_UPDATED, {"subscriberId": s}) for s in updated],
        )
    return ok(
        {
            "created": [{"subscriberId": s} for s in created],
            "updated": [{"subscriberId": s} for s in updated],
            "failed": [],
        }
    )


@router.get("/{subscriber_id}", response_model=Data[SubscriberOut])
async def read_subscriber(subscriber_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        sub = await require(
            session, env, subscriber_id, NotFound(f"Subscriber not found for id {subscriber_id}")
        )
    return ok(subscriber_view(sub, organization_id=env.organization_id))


@router.put("/{subscriber_id}", response_model=Data[SubscriberOut])
async def put_subscriber(
    subscriber_id: str, body: UpdateSubscriberBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    async with db.session() as session:
        sub = await require(
            session, env, subscriber_id, BadRequest(f"SubscriberId: {subscriber_id} not found")
        )
        sub = await update_subscriber(
            session=session, row=sub, fields=body.model_dump(include=body.model_fields_set)
        )
        await emit(session, environment_id=env.id, event=SUBSCRIBER_UPDATED, data=subscriber_data(sub))
    return ok(subscriber_view(sub, organization_id=env.organization_id))


@router.delete("/{subscriber_id}", response_model=Data[Deleted])
async def remove_subscriber(subscriber_id: str, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        sub = await require(
            session, env, subscriber_id, NotFound(f"Subscriber not found for id {subscriber_id}")
        )
        await delete_subscriber(session=session, row=sub)
        await emit(session, environment_id=env.id, event=SUBSCRIBER_DELETED, data=subscriber_data(sub))
    return ok({"acknowledged": True, "status": "deleted"})


async def _credentials(
    subscriber_id: str, body: CredentialsBody, env: EnvironmentRef, db: DbDep, *, append: bool
) -> dict[str, Any]:
    async with db.session() as session:
        sub = await require(
            session, env, subscriber_id, BadRequest(f"SubscriberId: {subscriber_id} not found")
        )
        sub = await apply_credentials(session, env, sub, body, append=append)
    return ok(subscriber_view(sub, organization_id=env.organization_id))


@router.put("/{subscriber_id}/credentials", response_model=Data[SubscriberOut])
async def put_credentials(
    subscriber_id: str, body: CredentialsBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    """Replace mode: device tokens become exactly the (unique) list given."""
    return await _credentials(subscriber_id, body, env, db, append=False)


@router.patch("/{subscriber_id}/credentials", response_model=Data[SubscriberOut])
async def patch_credentials(
    subscriber_id: str, body: CredentialsBody, env: CurrentEnv, db: DbDep
) -> dict[str, Any]:
    """Append mode: device tokens are unioned with the stored ones."""
    return await _credentials(subscriber_id, body, env, db, append=True)


@router.delete("/{subscriber_id}/credentials/{provider_id}", status_code=204)
async def delete_credentials(subscriber_id: str, provider_id: str, env: CurrentEnv, db: DbDep) -> Response:
    async with db.session() as session:
        sub = await require(
            session, env, subscriber_id, NotFound(f"Subscriber not found for id {subscriber_id}")
        )
        await remove_channel_credentials(session=session, row=sub, provider_id=provider_id)
    return Response(status_code=204)


@router.patch("/{subscriber_id}/online-status", response_model=Data[SubscriberOut])
async def online_status(subscriber_id: str, body: OnlineBody, env: CurrentEnv, db: DbDep) -> dict[str, Any]:
    online = body.isOnline if body.isOnline is not None else body.online
    if online is None:
        raise BadRequest(["isOnline should not be null or undefined", "isOnline must be a boolean value"])
    async with db.session() as session:
        sub = await require(session, env, subscriber_id, NotFound("Subscriber not found"))
        sub = await set_online(session=session, row=sub, online=online)
    return ok(subscriber_view(sub, organization_id=env.organization_id))
