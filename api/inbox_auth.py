"""Subscriber sessions for the Inbox: a short-lived HS256 token bound to one environment and one
subscriber, the only credential a browser holds (never the API key)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from api.errors import Unauthorized
from store.db import Database
from store.models import Environment, Subscriber
from store.subscribers import subscriber_by_id
from store.tenancy import get_environment
from tidings.settings import Settings

AUDIENCE = "tidings-inbox"


@dataclass(frozen=True)
class InboxSession:
    """What an Inbox request may touch: this subscriber of this environment, nothing else."""

    environment_id: str
    organization_id: str
    application_identifier: str
    subscriber: Subscriber


def _signing_key(settings: Settings) -> bytes:
    # Derived, so the token key differs from the credential cipher's although both come from one secret.
    return hashlib.sha256(("tidings-inbox-token:" + settings.resolved_secret_key()).encode()).digest()


def issue_token(settings: Settings, *, environment: Environment, subscriber: Subscriber) -> str:
    now = int(time.time())
    claims = {
        "aud": AUDIENCE,
        "env": environment.id,
        "app": environment.identifier,
        "sub": subscriber.id,
        "iat": now,
        "exp": now + settings.inbox_token_ttl_seconds,
    }
    return jwt.encode(claims, _signing_key(settings), algorithm="HS256")


def read_token(settings: Settings, token: str) -> dict[str, Any] | None:
    """The token's claims, or ``None`` when it is forged, expired, or not an Inbox token."""
    try:
        claims = jwt.decode(
            token,
            _signing_key(settings),
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["exp", "env", "sub", "app"]},
        )
    except jwt.PyJWTError:
        return None
    return dict(claims)


async def session_for_token(db: Database, settings: Settings, token: str) -> InboxSession | None:
    """A valid token whose subscriber still exists in its environment → the session."""
    claims = read_token(settings, token)
    if claims is None:
        return None
    async with db.session() as session:
        env = await get_environment(session=session, environment_id=claims["env"])
        sub = await subscriber_by_id(session=session, id=claims["sub"])
    if env is None or sub is None or sub.deleted or sub.environment_id != env.id:
        return None
    if env.identifier != claims["app"]:
        return None
    return InboxSession(env.id, env.organization_id, env.identifier, sub)


async def current_inbox_session(request: Request) -> InboxSession:
    """``Authorization: Bearer <token>`` → the session; 401 in Novu's body otherwise.

    A ``Novu-Application-Identifier`` header naming another environment than the token's is refused too.
    """
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme != "Bearer" or not token.strip():
        raise Unauthorized("Unauthorized")
    found = await session_for_token(request.app.state.db, request.app.state.settings, token.strip())
    if found is None:
        raise Unauthorized("Unauthorized")
    claimed = request.headers.get("novu-application-identifier")
    if claimed and claimed != found.application_identifier:
        raise Unauthorized("Unauthorized")
    return found


InboxDep = Annotated[InboxSession, Depends(current_inbox_session)]
