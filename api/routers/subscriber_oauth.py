"""Chat OAuth for subscribers (Slack): public routes, no ``Authorization`` header.

``…/oauth`` redirects the subscriber to Slack; Slack sends them back to ``…/oauth/callback`` with a code,
which is exchanged for an incoming-webhook URL stored as the subscriber's Slack credential.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbDep, SettingsDep
from api.errors import BadRequest
from store.ids import is_object_id
from store.models import Integration
from store.subscribers import active_integration, get_subscriber, set_channel_credentials
from tidings.oauth import OAuthError, sign_state, slack_authorize_url, slack_exchange, state_matches
from tidings.settings import Settings

router = APIRouter(prefix="/v1/subscribers", tags=["subscriber oauth"])

SUPPORTED = ("slack",)

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


@router.get("/{subscriber_id}/credentials/{provider_id}/oauth")
async def oauth_start(
    subscriber_id: str,
    provider_id: str,
    db: DbDep,
    settings: SettingsDep,
    environmentId: str | None = Query(None),
    integrationIdentifier: str | None = Query(None),
    hmacHash: str | None = Query(None),
) -> Response:
    """302 to the provider's authorize page."""
    environment_id = _check(environmentId, provider_id)
    integration = await _integration(db, environment_id, provider_id, integrationIdentifier)
    credentials = _credentials(settings, integration)
    state = sign_state(
        settings.resolved_secret_key(),
        environment_id=environment_id,
        subscriber_id=subscriber_id,
        provider_id=provider_id,
    )
    url = slack_authorize_url(
        settings.slack_oauth_base_url,
        client_id=str(credentials["clientId"]),
        redirect_uri=callback_url(
            settings, subscriber_id, provider_id, _callback_query(environment_id, integrationIdentifier)
        ),
        state=state,
    )
    return RedirectResponse(url, status_code=302)


@router.get("/{subscriber_id}/credentials/{provider_id}/oauth/callback")
async def oauth_callback(
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
    if not state or not state_matches(settings.resolved_secret_key(), state, **ids):
        raise BadRequest("OAuth state is missing or does not match this subscriber")
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
    async with db.session() as session:
        sub = await get_subscriber(
            session=session, environment_id=environment_id, subscriber_id=subscriber_id
        )
        if sub is None:
            raise BadRequest(f"SubscriberId: {subscriber_id} not found")
        new = {"webhookUrl": webhook.url, **({"channel": webhook.channel} if webhook.channel else {})}
        await set_channel_credentials(
            session=session, row=sub, integration=integration, credentials=new, append=False
        )
    if credentials.get("redirectUrl"):
        return RedirectResponse(str(credentials["redirectUrl"]), status_code=302)
    return HTMLResponse(DONE_PAGE.format(provider=html.escape(provider_id.capitalize())))
