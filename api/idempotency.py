"""``Idempotency-Key`` on POST and PATCH with API-key auth, as Novu answers it.

First request: the key is claimed in the app DB (shared by every API process) and the response is
kept for 24 h. The same key and body again: that response, with ``Idempotency-Replay: true``. While the
first is still running: 409 with ``Retry-After: 1``. The same key with another body: 422. A key over
255 characters: 400. A 5xx answer is not kept (the key is released) so the client's retry runs again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from api.deps import api_key_of, environment_of_key
from api.errors import error_body
from api.unavailable import UNAVAILABLE_TYPES, unavailable_reason
from store.db import Database
from store.idempotency import claim_key, release_key, store_response

log = logging.getLogger("tidings.api")

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
METHODS = ("POST", "PATCH")
#: Response headers not replayed: they describe the original answer's transport or its moment.
NOT_REPLAYED = {"content-length", "date", "server", "retry-after"}
DOCS = "https://docs.novu.co/additional-resources/idempotency"


class IdempotencyKeys:
    """ASGI middleware; needs ``app.state`` (db, key cache, settings) from the lifespan."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw_key = headers.get(HEADER)
        api_key = api_key_of(headers)
        if raw_key is None or api_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if len(key) > MAX_KEY_LENGTH:
            message = f'idempotencyKey "{key}" has exceeded the maximum allowed length of {MAX_KEY_LENGTH} characters'
            await respond(send, scope, 400, message)
            return
        state = scope["app"].state
        env = await environment_of_key(state, api_key, scope)
        if env is None:
            await self.app(scope, receive, send)  # the route answers 401
            return
        body = await read_body(receive)
        db: Database = state.db
        settings = state.settings
        try:
            async with db.session() as session:
                claim = await claim_key(
                    session=session,
                    environment_id=env.id,
                    key=key,
                    body_hash=hashlib.sha256(body).hexdigest(),
                    ttl=timedelta(hours=settings.idempotency_ttl_hours),
                    lock=timedelta(seconds=settings.idempotency_lock_seconds),
                )
        except UNAVAILABLE_TYPES as exc:
            if unavailable_reason(exc) is None:
                raise
            # The key cannot be claimed: nothing was started, so the client may safely retry.
            retry = [(b"retry-after", str(settings.retry_after_seconds).encode())]
            await respond(send, scope, 503, "The database is unavailable; retry later", retry)
            return
        if claim.outcome == "in_progress":
            extra = [(b"retry-after", b"1"), (b"link", f"<{DOCS}>".encode())]
            message = f'Request with key "{key}" is currently being processed. Please retry after 1 second'
            await respond(send, scope, 409, message, extra)
            return
        if claim.outcome == "mismatch":
            await respond(send, scope, 422, f'Request with key "{key}" is being reused for a different body')
            return
        if claim.outcome == "replay" and claim.record is not None:
            record = claim.record
            replay = [(k.encode(), str(v).encode()) for k, v in (record.headers or {}).items()]
            replay += [(b"idempotency-key", raw_key), (b"idempotency-replay", b"true")]
            await send_whole(send, int(record.status_code or 200), replay, (record.body or "").encode())
            return
        await self.run_claimed(scope, body, send, db, env.id, key, raw_key)

    async def run_claimed(
        self, scope: Any, body: bytes, send: Any, db: Database, environment_id: str, key: str, raw_key: bytes
    ) -> None:
        """Run the request, pass the answer on, and keep it under the key."""
        delivered = False

        async def replay_receive() -> Any:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        kept: dict[str, str] = {}
        chunks: list[bytes] = []

        async def capture(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers") or []:
                    text = name.decode("latin-1").lower()
                    if text not in NOT_REPLAYED and not text.startswith("ratelimit"):
                        kept[text] = value.decode("latin-1")
                message = {
                    **message,
                    "headers": [*(message.get("headers") or []), (b"idempotency-key", raw_key)],
                }
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            await self.release(db, environment_id, key)
            raise
        if status >= 500:
            await self.release(db, environment_id, key)
            return
        async with db.session() as session:
            await store_response(
                session=session,
                environment_id=environment_id,
                key=key,
                status_code=status,
                headers=kept,
                body=b"".join(chunks).decode("utf-8", errors="replace"),
            )

    async def release(self, db: Database, environment_id: str, key: str) -> None:
        try:
            async with db.session() as session:
                await release_key(session=session, environment_id=environment_id, key=key)
        except Exception:  # the lock expires on its own; the original error matters more
            log.exception("could not release idempotency key")


async def read_body(receive: Any) -> bytes:
    """The whole request body (its size is bounded by ``BodySizeLimit``, which wraps this middleware)."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts)
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


async def respond(
    send: Any, scope: Any, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(error_body(status, scope.get("path", ""), message)).encode()
    await send_whole(send, status, [(b"content-type", b"application/json"), *(extra or [])], body)


async def send_whole(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [h for h in headers if h[0].lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
