"""One Starlette app (under uvicorn in a thread) that speaks the HTTP providers' APIs.

Each path answers like its provider (SendGrid ``/v3/mail/send``, Twilio ``…/Messages.json``, FCM …).
Tests read ``requests`` (every request received), ``delivered`` (the requests the provider acted on:
what a recipient would get) and ``answers``; they queue special answers with ``fail(path_part, status,
…)`` and hold answers with ``stall(path_part)``.

Idempotency keys behave as the providers document them (exactly-once depends on it):

- Resend (``Idempotency-Key`` header on ``POST /emails``): the same key and the same payload after the
  first request completed → the original response, nothing sent; while the first is still in flight →
  409 ``concurrent_idempotent_requests``; the same key with a different payload → 409
  ``invalid_idempotent_request``. Only a successful first answer is kept (a failed send may be retried).
- OneSignal (``idempotency_key``, formerly ``external_id``, in the body of ``POST /api/v1/notifications``):
  must be a UUID (400 otherwise); a repeated key returns the result of the first request and sends
  nothing, whatever the payload; a repeat that arrives while the first is in flight waits for it.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: str = ""

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, list[str]]:
        """URL-encoded or multipart fields (multipart files appear under ``files``)."""
        ctype = self.headers.get("content-type", "")
        out: dict[str, list[str]] = {}
        if ctype.startswith("multipart/"):
            msg = email.message_from_bytes(
                f"Content-Type: {ctype}\r\n\r\n".encode() + self.body, policy=email.policy.HTTP
            )
            for part in msg.iter_parts():  # type: ignore[attr-defined]
                name = part.get_param("name", header="content-disposition")
                if part.get_filename():
                    out.setdefault("files", []).append(str(part.get_filename()))
                else:
                    out.setdefault(str(name), []).append(part.get_content())
            return out
        for k, v in parse_qsl(self.body.decode()):
            out.setdefault(k, []).append(v)
        return out


@dataclass
class KeyState:
    """One idempotency key as the provider holds it."""

    fingerprint: bytes
    answer: tuple[int, Any, dict[str, str]] | None = None  # None while the first request is in flight
    done: asyncio.Event = field(default_factory=asyncio.Event)


def resend_error(name: str, message: str) -> tuple[int, Any, dict[str, str]]:
    return 409, {"statusCode": 409, "message": message, "name": name}, {}


@dataclass
class Rule:
    part: str
    status: int
    body: Any
    times: int
    stall: bool = False


def default_answer(path: str, request: Recorded, serial: int = 1) -> tuple[int, Any, dict[str, str]]:
    """What the real provider answers on success (the fields our adapters read); ``serial`` numbers
    the ids of providers that de-duplicate, so a replayed answer is told apart from a new send."""
    if path.endswith("/v3/mail/send"):
        return 202, None, {"x-message-id": "sg-1"}
    if path.endswith("/messages") and "/v3/" in path:
        return 200, {"id": "<mg-1@mailgun>", "message": "Queued. Thank you."}, {}
    if path.endswith("/email"):
        return 200, {"MessageID": "pm-1", "ErrorCode": 0}, {}
    if path.endswith("/emails"):
        return 200, {"id": f"re-{serial}"}, {}
    if path.endswith("/v2/email/outbound-emails"):
        return 200, {"MessageId": "ses-1"}, {}
    if path.endswith("/Messages.json"):
        return 201, {"sid": "SM1", "status": "queued"}, {}
    if path.endswith("/sms/json"):
        return 200, {"message-count": "1", "messages": [{"status": "0", "message-id": "vn-1"}]}, {}
    if "/Message/" in path:
        return 202, {"message_uuid": ["pl-1"], "api_id": "x"}, {}
    if path.endswith("/token"):
        return 200, {"access_token": "ya29.fake-token", "expires_in": 3600, "token_type": "Bearer"}, {}
    if path.endswith("messages:send"):
        return 200, {"name": "projects/demo/messages/fcm-1"}, {}
    if path.endswith("/push/send"):
        return 200, {"data": [{"status": "ok", "id": f"expo-{i}"} for i, _ in enumerate(request.json)]}, {}
    if path.endswith("/notifications"):
        return 200, {"id": f"os-{serial}", "recipients": 1}, {}
    if path.startswith("/discord"):
        return 204, None, {}
    return 200, {"id": "generic-1", "ok": True}, {}


class FakeHttpProviders:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.rules: list[Rule] = []
        self.released = threading.Event()
        self.delivered: list[Recorded] = []
        self.answers: list[tuple[Recorded, int, Any]] = []
        self.keys: dict[str, KeyState] = {}
        #: Seconds every answer takes (a slow provider keeps sends in flight); ``in_flight`` counts them.
        self.latency = 0.0
        self.in_flight = 0
        # Bound here and handed to uvicorn: the port is ours from now until stop().
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST", "PUT"])])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake provider server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.released.set()
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def reset(self) -> None:
        self.requests.clear()
        self.rules.clear()
        self.latency = 0.0
        self.delivered.clear()
        self.answers.clear()
        self.keys.clear()
        self.released.clear()

    def fail(self, part: str, status: int, body: Any = None, times: int = 1000) -> None:
        """The next ``times`` requests whose path contains ``part`` get ``status``."""
        self.rules.append(Rule(part, status, body if body is not None else {"error": "fake"}, times))

    def stall(self, part: str) -> None:
        """The next request whose path contains ``part`` is recorded, then held until ``release()``."""
        self.rules.append(Rule(part, 200, None, 1, stall=True))

    def release(self) -> None:
        self.released.set()

    def to(self, part: str) -> list[Recorded]:
        return [r for r in self.requests if part in r.path]

    def answered(self, part: str, status: int) -> list[tuple[Recorded, int, Any]]:
        return [a for a in self.answers if part in a[0].path and a[1] == status]

    async def handle(self, request: Request) -> Response:
        rec = Recorded(
            request.method,
            request.url.path,
            {k.lower(): v for k, v in request.headers.items()},
            await request.body(),
            request.url.query,
        )
        self.requests.append(rec)
        if self.latency:
            self.in_flight += 1
            try:
                await asyncio.sleep(self.latency)
            finally:
                self.in_flight -= 1
        status, body, headers = await self.idempotent_answer(rec)
        self.answers.append((rec, status, body))
        return JSONResponse(body, status, headers) if body is not None else Response(None, status, headers)

    async def idempotent_answer(self, rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        if rec.path.endswith("/emails") and rec.headers.get("idempotency-key"):
            return await self.resend(rec, rec.headers["idempotency-key"])
        if rec.path.endswith("/notifications") and rec.body:
            key = rec.json.get("idempotency_key") or rec.json.get("external_id")
            if key:
                return await self.onesignal(rec, str(key))
        return await self.process(rec)

    async def resend(self, rec: Recorded, key: str) -> tuple[int, Any, dict[str, str]]:
        held = self.keys.get(key)
        if held is not None:
            if held.fingerprint != rec.body:
                return resend_error(
                    "invalid_idempotent_request",
                    "This idempotency key has already been used on a request that had a different payload.",
                )
            if held.answer is None:
                return resend_error(
                    "concurrent_idempotent_requests",
                    "Another request with the same idempotency key is currently in progress.",
                )
            return held.answer
        return await self.first_with_key(rec, key)

    async def onesignal(self, rec: Recorded, key: str) -> tuple[int, Any, dict[str, str]]:
        try:
            uuid.UUID(key)
        except ValueError:
            return 400, {"errors": ["idempotency_key must be a valid UUID"]}, {}
        held = self.keys.get(key)
        if held is not None:
            await asyncio.wait_for(held.done.wait(), 120)
            if held.answer is not None:
                return held.answer
        return await self.first_with_key(rec, key)

    async def first_with_key(self, rec: Recorded, key: str) -> tuple[int, Any, dict[str, str]]:
        state = self.keys[key] = KeyState(rec.body)
        try:
            answer = await self.process(rec)
        finally:
            state.done.set()
        if answer[0] < 300:
            state.answer = answer
        else:
            del self.keys[key]  # a failed first request leaves nothing to replay: a retry sends
        return answer

    async def process(self, rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        """The provider acting on a request: a queued rule's answer, or a delivery."""
        for rule in self.rules:
            if rule.part in rec.path and rule.times > 0:
                rule.times -= 1
                if rule.stall:
                    await asyncio.get_running_loop().run_in_executor(None, self.released.wait, 120)
                    break
                return rule.status, rule.body, {}
        self.delivered.append(rec)
        return default_answer(rec.path, rec, len(self.delivered))
