"""``/v1/inbox/web-push``: a browser subscribes itself to Web Push for its own subscriber (a Tidings extension).

The Inbox page (and any web app holding an Inbox session) asks for the environment's VAPID public key,
subscribes with ``pushManager.subscribe`` and hands the subscription here; it is stored as one of the
subscriber's ``web-push`` device tokens, exactly what ``PUT /v1/subscribers/{id}/credentials`` would store.
Only the public key ever leaves; the subscription is bound to the session's subscriber.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.deps import DbDep, SettingsDep
from api.errors import BadRequest, NotFound
from api.inbox_auth import InboxDep
from api.responses_v2 import WebPushOut, WebPushSubscriptionOut
from api.wire import Data, WireRouter, ok
from store.channel_credentials import add_device_token, remove_web_push_endpoint
from store.subscribers import active_integration

router = WireRouter(prefix="/v1/inbox/web-push", tags=["inbox"])

PROVIDER = "web-push"
B64URL = re.compile(r"^[A-Za-z0-9_-]+=*$")


class SubscriptionKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")
    p256dh: str = Field(min_length=80, max_length=100)
    auth: str = Field(min_length=16, max_length=40)

    @field_validator("p256dh", "auth")
    @classmethod
    def _b64url(cls, value: str) -> str:
        if not B64URL.match(value):
            raise ValueError("keys must be base64url")
        return value


class Subscription(BaseModel):
    """``PushSubscription.toJSON()`` as the browser gives it."""

    model_config = ConfigDict(extra="ignore")
    endpoint: str = Field(min_length=10, max_length=2000)
    keys: SubscriptionKeys
    expirationTime: float | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if urlsplit(value).scheme != "https" and not value.startswith("http://127.0.0.1"):
            raise ValueError("endpoint must be an https URL of the browser's push service")
        return value

    def token(self) -> str:
        return json.dumps(
            {
                "endpoint": self.endpoint,
                "expirationTime": self.expirationTime,
                "keys": self.keys.model_dump(),
            },
            separators=(",", ":"),
        )


class Unsubscribe(BaseModel):
    endpoint: str = Field(min_length=10, max_length=2000)


@router.get("", response_model=Data[WebPushOut])
async def web_push(inbox: InboxDep, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """Whether Web Push is set up in this environment, and the VAPID public key to subscribe with."""
    async with db.session() as session:
        integration = await active_integration(
            session=session, environment_id=inbox.environment_id, provider_id=PROVIDER
        )
    if integration is None:
        return ok({"enabled": False, "vapidPublicKey": None})
    credentials = settings.credential_cipher().decrypt(integration.credentials_encrypted)
    public = credentials.get("vapidPublicKey")
    return ok({"enabled": bool(public), "vapidPublicKey": public or None})


@router.post("/subscriptions", status_code=201, response_model=Data[WebPushSubscriptionOut])
async def subscribe(body: Subscription, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    async with db.session() as session:
        integration = await active_integration(
            session=session, environment_id=inbox.environment_id, provider_id=PROVIDER
        )
        if integration is None:
            raise BadRequest("Web Push is not set up in this environment (no active web-push integration)")
        row = await add_device_token(
            session=session,
            subscriber_row_id=inbox.subscriber.id,
            integration=integration,
            token=body.token(),
        )
    if row is None:
        raise NotFound("Subscriber not found")
    return ok({"subscribed": True, "endpoint": body.endpoint})


@router.post("/subscriptions/remove", response_model=Data[WebPushSubscriptionOut])
async def unsubscribe(body: Unsubscribe, inbox: InboxDep, db: DbDep) -> dict[str, Any]:
    """The browser unsubscribed: drop the stored subscription with that endpoint."""
    async with db.session() as session:
        removed = await remove_web_push_endpoint(
            session=session,
            subscriber_row_id=inbox.subscriber.id,
            provider_id=PROVIDER,
            endpoint=body.endpoint,
        )
    if not removed:
        raise NotFound("No such subscription")
    return ok({"subscribed": False})
