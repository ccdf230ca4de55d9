"""Chat OAuth for subscribers (Slack), opened in the subscriber's browser.

``…/oauth`` redirects the subscriber to Slack; Slack sends them back to ``…/oauth/callback`` with a code,
which is exchanged for an incoming-webhook URL stored as the subscriber's Slack credential.

Starting a flow needs ``hmacHash`` = hex HMAC-SHA256 of the subscriberId under the environment's API key
(or the API key itself in ``Authorization``) — always, not only when HMAC is on: whoever starts the flow
chooses the Slack channel the subscriber's messages go to. The subscriber must exist. The ``state`` is
signed, expires after ten minutes and carries a nonce that must match a cookie set in the browser that
started the flow, so a callback link cannot be replayed into someone else's browser. See docs/security.md.
"""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbDep, SettingsDep, current_environment
from api.errors import BadRequest, Unauthorized
from api.wire import WireRouter
from store.channel_credentials import set_channel_credentials
from store.hmac_keys import subscriber_hash_ok
from store.ids import is_object_id
from store.models import Integration
from store.subscribers import active_integration, get_subscriber
from tidings.oauth import (
    STATE_TTL_SECONDS,
    OAuthError,
    new_nonce,
    sign_state,
    slack_authorize_url,
    slack_exchange,
    state_matches,
)
from tidings.settings import Settings

router = WireRouter(prefix="/v1/subscribers", tags=["subscriber oauth"])

SUPPORTED = ("slack",)
NONCE_COOKIE = "tidings_oauth_nonce"

DONE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Connected</title></head>
<body><p>{provider} is connected. You can close this window.</p>
<script>window.close();</script></body></html>"""


def _check(environment_id: str | None, provider_id: str) -> str:
    if not environment_id or not is_object_id(environment_id):
        raise BadRequest(["environmentId must be a mongodb id"])
    if provider_id not in SUPPORTED:
        raise BadRequest(f"Provider {provider_id} does not support OAuth")
    return environment_id


def callback_url(settings: Settings, subscriber_id: str, provider_id: str, query: dict[str, str]) -> str:
    path = f"/v1/subscribers/{subscriber_id}/credentials/{provider_id}/oauth/callback"
    return f"{settings.api_url().rstrip('/')}{path}?{urlencode(query)}"


async def _integration(
    db: DbDep, environment_id: str, provider_id: str, identifier: str | None
) -> Integration:
    async with db.session() as session:
        integration = await active_integration(
            session=session, environment_id=environment_id, provider_id=provider_id, identifier=identifier
        )
    if integration is None:
        raise BadRequest(
            f"Subscribers environment ({environment_id}) do not have active {provider_id} integration."
        )
    return integration


def _credentials(settings: Settings, integration: Integration) -> dict[str, Any]:
    credentials = settings.credential_cipher().decrypt(integration.credentials_encrypted)
    if not credentials.get("clientId"):
        raise BadRequest(f"The {integration.provider_id} integration has no clientId configured")
    return credentials


def _callback_query(environment_id: str, integration_identifier: str | None) -> dict[str, str]:
    query = {"environmentId": environment_id}
    if integration_identifier:
        query["integrationIdentifier"] = integration_identifier
    return query


async def _authorize_start(
    request: Request,
    db: DbDep,
    settings: Settings,
    environment_id: str,
    subscriber_id: str,
    hash_: str | None,
) -> None:
    """A valid ``hmacHash`` for the subscriber, or the environment's own API key; then the subscriber
    must exist. Authorization comes first, so nobody learns which subscribers exist."""
    if request.headers.get("authorization"):
        env = await current_environment(request)
        if env.id != environment_id:
            raise Unauthorized("API Key does not belong to this environment")
    else:
        async with db.session() as session:
            ok = await subscriber_hash_ok(
                session=session,
                cipher=settings.credential_cipher(),
                environment_id=environment_id,
                subscriber_id=subscriber_id,
                subscriber_hash_value=hash_,
            )
        if not ok:
            raise Unauthorized("Please provide a valid HMAC hash (hmacHash)")
    async with db.session() as session:
        sub = await get_subscriber(
            session=session, environment_id=environment_id, subscriber_id=subscriber_id
        )
    if sub is None:
        raise BadRequest(f"SubscriberId: {subscriber_id} not found")


@router.get(
    "/{subscriber_id}/credentials/{provider_id}/oauth",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "Redirect to the provider's consent page"}},
)
async def oauth_start(
    request: Request,
    subscriber_id: str,
    provider_id: str,
    db: DbDep,
    settings: SettingsDep,
    environmentId: str | None = Query(None),
    integrationIdentifier: str | None = Query(None),
    hmacHash: str | None = Query(None),
) -> Response:
    """302 to the provider's authorize page, with a nonce cookie bound to the signed state."""
    environment_id = _check(environmentId, provider_id)
    await _authorize_start(request, db, settings, environment_id, subscriber_id, hmacHash)
    integration = await _integration(db, environment_id, provider_id, integrationIdentifier)
    credentials = _credentials(settings, integration)
    nonce = new_nonce()
    state = sign_state(
        settings.resolved_secret_key(),
        environment_id=environment_id,
        subscriber_id=subscriber_id,
        provider_id=provider_id,
        nonce=nonce,
        expires_at=int(time.time()) + STATE_TTL_SECONDS,
    )
    url = slack_authorize_url(
        settings.slack_oauth_base_url,
        client_id=str(credentials["clientId"]),
        redirect_uri=callback_url(
            settings, subscriber_id, provider_id, _callback_query(environment_id, integrationIdentifier)
        ),
        state=state,
    )
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        NONCE_COOKIE,
        nonce,
        max_age=STATE_TTL_SECONDS,
        path="/v1/subscribers/",
        httponly=True,
        samesite="lax",  # sent on Slack's top-level redirect back to us
        secure=settings.api_url().startswith("https://"),
    )
    return response


@router.get(
    "/{subscriber_id}/credentials/{provider_id}/oauth/callback",
    response_class=HTMLResponse,
    responses={302: {"description": "Redirect to the redirectUrl given when the flow started"}},
)
async def oauth_callback(
    request: Request,
    subscriber_id: str,
    provider_id: str,
    db: DbDep,
    settings: SettingsDep,
    code: str | None = Query(None),
    state: str | None = Query(None),
    environmentId: str | None = Query(None),
    integrationIdentifier: str | None = Query(None),
    hmacHash: str | None = Query(None),
) -> Response:
    """Exchange the code, store the webhook URL on the subscriber, then show "connected" (or redirect)."""
    environment_id = _check(environmentId, provider_id)
    if not code:
        raise BadRequest(["code should not be null or undefined", "code must be a string"])
    ids = {"environment_id": environment_id, "subscriber_id": subscriber_id, "provider_id": provider_id}
    nonce = request.cookies.get(NONCE_COOKIE)
    if not state or not state_matches(
        settings.resolved_secret_key(), state, nonce=nonce, now=time.time(), **ids
    ):
        raise BadRequest("OAuth state is missing, expired or does not match this subscriber and browser")
    integration = await _integration(db, environment_id, provider_id, integrationIdentifier)
    credentials = _credentials(settings, integration)
    try:
        webhook = await slack_exchange(
            settings.slack_oauth_base_url,
            client_id=str(credentials["clientId"]),
            client_secret=str(credentials.get("secretKey") or ""),
            code=code,
            redirect_uri=callback_url(
                settings, subscriber_id, provider_id, _callback_query(environment_id, integrationIdentifier)
            ),
            allow_private=settings.allow_private_destinations,
        )
    except OAuthError as exc:
        raise BadRequest(str(exc)) from exc
    async with db.session(write=True) as session:  # a GET that writes
        sub = await get_subscriber(
            session=session, environment_id=environment_id, subscriber_id=subscriber_id
        )
        if sub is None:
            raise BadRequest(f"SubscriberId: {subscriber_id} not found")
        new = {"webhookUrl": webhook.url, **({"channel": webhook.channel} if webhook.channel else {})}
        await set_channel_credentials(
            session=session, row=sub, integration=integration, credentials=new, append=False
        )
    response: Response = (
        RedirectResponse(str(credentials["redirectUrl"]), status_code=302)
        if credentials.get("redirectUrl")
        else HTMLResponse(DONE_PAGE.format(provider=html.escape(provider_id.capitalize())))
    )
    response.delete_cookie(NONCE_COOKIE, path="/v1/subscribers/")  # one flow, one use
    return response
