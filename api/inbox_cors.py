"""CORS for the browser-facing Inbox routes only: web apps on their own origin call ``/v1/inbox/*`` with a
bearer token (no cookies), so any listed origin may; the API-key routes stay without CORS headers."""

from __future__ import annotations

from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class InboxCors:
    def __init__(self, app: ASGIApp, *, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["*"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] == "http" and scope["path"].startswith("/v1/inbox"):
            return await self.cors(scope, receive, send)
        return await self.app(scope, receive, send)
