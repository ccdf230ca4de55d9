"""Real-time Inbox push: socket.io on the API's ASGI app, fed by the message-event hand-over.

``@novu/js`` pointed at a self-hosted ``socketUrl`` speaks socket.io (path ``/socket.io``, websocket
transport, the session token in the ``token`` query value) and listens for ``notification_received``
``{message}``, ``unseen_count_changed`` ``{unseenCount}`` and ``unread_count_changed`` ``{counts}``.

Each API process holds its own sockets and hears every message change committed anywhere (worker or API):
from PostgreSQL ``LISTEN`` or, on SQLite, by polling ``message_events`` (``store/message_events.py``).
It then delivers only to the subscribers connected to it, so processes behind a load balancer need no
shared socket state. Tokens are checked before the transport opens; sockets per subscriber are capped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import socketio
from sqlalchemy.engine import make_url

from api.inbox_auth import read_token, session_for_token
from api.inbox_views import socket_message_view, unread_counts
from store.db import Database
from store.inbox import InboxFilter, count_notifications, live_messages, workflows_for
from store.message_events import PG_CHANNEL, MessageChange, SqliteEventReader, prune_events
from store.models import Message
from store.subscribers import subscriber_by_id
from tidings.settings import Settings

log = logging.getLogger("tidings.realtime")

UNREAD = InboxFilter(read=False, archived=False)
UNSEEN = InboxFilter(seen=False, archived=False)
#: "created" ids already pushed (a retried worker activity announces its messages again).
_REMEMBERED = 20_000
_PRUNE_EVERY = 60.0


class RedactTokens(logging.Filter):
    """uvicorn logs a websocket's URL, and ``@novu/js`` puts the session token in it: keep it out of logs."""

    _TOKEN = re.compile(r"token=[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub("token=[redacted]", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str) and "token=" in record.msg:
            record.msg = self._TOKEN.sub("token=[redacted]", record.msg)
        return True


def redact_tokens_in_server_logs() -> None:
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def room_of(environment_id: str, subscriber_id: str) -> str:
    return f"{environment_id}:{subscriber_id}"


class Realtime:
    """The socket.io server of one API process and its listener on the message-event hand-over."""

    db: Database

    def __init__(self, *, settings: Settings) -> None:
        self.settings = settings
        self.sio = socketio.AsyncServer(
            async_mode="asgi", cors_allowed_origins="*", logger=False, engineio_logger=False
        )
        self.local: dict[str, set[str]] = {}  # room → this process's socket ids
        self.ready = asyncio.Event()
        self._pushed: OrderedDict[str, None] = OrderedDict()
        self._tasks: list[asyncio.Task[None]] = []
        self._queue: asyncio.Queue[MessageChange] = asyncio.Queue()
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self._engine = socketio.ASGIApp(self.sio, socketio_path="socket.io")

    # -- the ASGI side ------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Refuse a handshake without a valid token before any socket.io session exists."""
        query = parse_qs(scope.get("query_string", b"").decode())
        handshake = "sid" not in query
        token = (query.get("token") or [""])[0]
        if handshake and read_token(self.settings, token) is None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4401})
                return
            body = b'{"statusCode":401,"message":"Unauthorized","error":"Unauthorized"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self._engine(scope, receive, send)

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        token = (query.get("token") or [""])[0]
        if not token and isinstance(auth, dict):
            token = str(auth.get("token") or "")
        found = await session_for_token(self.db, self.settings, token)
        if found is None:
            raise socketio.exceptions.ConnectionRefusedError("Unauthorized")
        room = room_of(found.environment_id, found.subscriber.id)
        sockets = self.local.setdefault(room, set())
        if len(sockets) >= self.settings.inbox_max_sockets_per_subscriber:
            raise socketio.exceptions.ConnectionRefusedError("Too many connections for this subscriber")
        sockets.add(sid)
        await self.sio.save_session(sid, {"room": room})
        await self.sio.enter_room(sid, room)

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        with contextlib.suppress(KeyError):
            room = (await self.sio.get_session(sid))["room"]
            sockets = self.local.get(room, set())
            sockets.discard(sid)
            if not sockets:
                self.local.pop(room, None)

    def connections(self) -> int:
        return sum(len(s) for s in self.local.values())

    # -- the hand-over side -------------------------------------------------------------------------

    async def start(self, db: Database) -> None:
        """Start listening (the app's lifespan calls this with its database); returns once listening."""
        self.db = db
        listen = self._poll() if self.db.is_sqlite else self._listen()
        self._tasks = [asyncio.create_task(listen), asyncio.create_task(self._consume())]
        await asyncio.wait_for(self.ready.wait(), timeout=30)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def _listen(self) -> None:
        """PostgreSQL: one LISTEN connection per API process, re-established if it drops."""
        url = make_url(self.db.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)

        def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            self._queue.put_nowait(MessageChange.from_json(payload))

        while True:
            conn = None
            try:
                conn = await asyncpg.connect(dsn)
                await conn.add_listener(PG_CHANNEL, on_notify)
                self.ready.set()
                while True:
                    await asyncio.sleep(10)
                    await conn.execute("SELECT 1")  # notices a dropped connection
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("message-event listener lost its connection; reconnecting")
                await asyncio.sleep(1)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()

    async def _poll(self) -> None:
        """SQLite: read new ``message_events`` rows every ``inbox_poll_seconds``."""
        async with SqliteEventReader(self.db.url) as reader:
            last = await reader.latest()
            self.ready.set()
            loop = asyncio.get_running_loop()
            pruned = loop.time()
            while True:
                await asyncio.sleep(self.settings.inbox_poll_seconds)
                try:
                    rows = await reader.after(last)
                    if loop.time() - pruned > _PRUNE_EVERY:
                        pruned = loop.time()
                        async with self.db.session() as session:
                            await prune_events(session=session)
                except Exception:
                    log.exception("message-event poll failed; retrying")
                    continue
                for event_id, change in rows:
                    last = event_id
                    self._queue.put_nowait(change)

    async def _consume(self) -> None:
        while True:
            change = await self._queue.get()
            try:
                await self.deliver(change)
            except Exception:
                log.exception("could not push a message event to its sockets")

    async def deliver(self, change: MessageChange) -> None:
        """Push one change to the subscriber's sockets on this process (nothing if none are here)."""
        room = room_of(change.environment_id, change.subscriber_id)
        if not self.local.get(room):
            return
        fresh: list[str] = []
        if change.event == "created":
            for message_id in change.message_ids or []:
                if message_id not in self._pushed:
                    self._pushed[message_id] = None
                    fresh.append(message_id)
            while len(self._pushed) > _REMEMBERED:
                self._pushed.popitem(last=False)
        async with self.db.session() as session:
            sub = await subscriber_by_id(session=session, id=change.subscriber_id)
            if sub is None or sub.environment_id != change.environment_id:
                return
            rows: list[Message] = []
            if fresh:
                rows = await live_messages(
                    session=session,
                    environment_id=change.environment_id,
                    subscriber_id=change.subscriber_id,
                    ids=list(fresh),
                )
            workflows = await workflows_for(session=session, messages=rows)
        # The notification first, the recounts after: the bell should not wait for them.
        for message in rows:
            view = socket_message_view(message, sub, workflows.get(message.workflow_id or ""))
            await self.sio.emit("notification_received", {"message": view}, room=room)
        scope = {"environment_id": change.environment_id, "subscriber_id": change.subscriber_id}
        async with self.db.session() as session:
            unread = await count_notifications(session=session, flt=UNREAD, **scope)
            unseen = await count_notifications(session=session, flt=UNSEEN, **scope)
        await self.sio.emit("unseen_count_changed", {"unseenCount": unseen}, room=room)
        await self.sio.emit(
            "unread_count_changed", {"unreadCount": unread, "counts": unread_counts(unread)}, room=room
        )
