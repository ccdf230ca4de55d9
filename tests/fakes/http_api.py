"""One Starlette app (under uvicorn in a thread) that speaks the HTTP providers' APIs.

Each path answers like its provider (SendGrid ``/v3/mail/send``, Twilio ``…/Messages.json``, FCM …).
Tests read ``requests``, queue special answers with ``fail(path_part, status, …)`` and hold answers
with ``stall(path_part)``. Like Resend and OneSignal, it de-duplicates on their idempotency keys.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tidings.devserver import free_port


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
class Rule:
    part: str
    status: int
    body: Any
    times: int
    stall: bool = False


def default_answer(path: str, request: Recorded) -> tuple[int, Any, dict[str, str]]:
    """What the real provider answers on success (the fields our adapters read)."""
    if path.endswith("/v3/mail/send"):
        return 202, None, {"x-message-id": "sg-1"}
    if path.endswith("/messages") and "/v3/" in path:
        return 200, {"id": "<mg-1@mailgun>", "message": "Queued. Thank you."}, {}
    if path.endswith("/email"):
        return 200, {"MessageID": "pm-1", "ErrorCode": 0}, {}
    if path.endswith("/emails"):
        return 200, {"id": "re-1"}, {}
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
        return 200, {"id": "os-1", "recipients": 1}, {}
    if path.startswith("/discord"):
        return 204, None, {}
    return 200, {"id": "generic-1", "ok": True}, {}


class FakeHttpProviders:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.rules: list[Rule] = []
        self.released = threading.Event()
        self.idempotent: dict[str, tuple[int, Any, dict[str, str]]] = {}
        #: Seconds every answer takes (a slow provider keeps sends in flight); ``in_flight`` counts them.
        self.latency = 0.0
        self.in_flight = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST", "PUT"])])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

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
        self.idempotent.clear()
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
        key = rec.headers.get("idempotency-key")
        if rec.path.endswith("/notifications") and rec.body:
            key = rec.json.get("idempotency_key")
        if key and key in self.idempotent:
            status, body, headers = self.idempotent[key]
            return (
                JSONResponse(body, status, headers) if body is not None else Response(None, status, headers)
            )
        for rule in self.rules:
            if rule.part in rec.path and rule.times > 0:
                rule.times -= 1
                if rule.stall:
                    await asyncio.get_running_loop().run_in_executor(None, self.released.wait, 120)
                    break
                return JSONResponse(rule.body, rule.status)
        status, body, headers = default_answer(rec.path, rec)
        if key:
            self.idempotent[key] = (status, body, headers)
        return JSONResponse(body, status, headers) if body is not None else Response(None, status, headers)

    @property
    def deliveries(self) -> int:
        """Requests that delivered something: idempotent replays are not counted twice."""
        keys = set()
        count = 0
        for r in self.requests:
            key = r.headers.get("idempotency-key")
            if key:
                if key in keys:
                    continue
                keys.add(key)
            count += 1
        return count
