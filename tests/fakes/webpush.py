"""A push service (RFC 8030) on 127.0.0.1 that checks what a browser vendor's would.

Each "browser" is a P-256 key pair and an auth secret, as a real user agent creates for
``pushManager.subscribe``. The service verifies the VAPID JWT (RFC 8292: ES256 with the ``k=`` key,
``aud`` = its origin, ``exp`` within 24 h, a ``sub``), decrypts the aes128gcm body (RFC 8291) with the
browser's private key, and records the plaintext. Endpoints marked gone answer 410.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tidings.devserver import free_port


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    name: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))


@dataclass
class Push:
    browser: str
    payload: dict[str, Any]
    headers: dict[str, str]
    claims: dict[str, Any]


class FakePushService:
    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.gone: set[str] = set()
        self.received: list[Push] = []
        self.refused: list[str] = []
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        app = Starlette(routes=[Route("/wp/{name}", self.handle, methods=["POST"])])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake push service did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def subscribe(self, name: str) -> str:
        """A new browser subscription, as the JSON text ``PushSubscription.toJSON()`` gives."""
        browser = self.browsers[name] = Browser(name)
        public = browser.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return json.dumps(
            {
                "endpoint": f"{self.origin}/wp/{name}",
                "expirationTime": None,
                "keys": {"p256dh": b64url(public), "auth": b64url(browser.auth)},
            }
        )

    def refuse(self, reason: str) -> Response:
        self.refused.append(reason)
        return Response(reason, 401 if "vapid" in reason else 400)

    async def handle(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name in self.gone:
            return Response(status_code=410)
        browser = self.browsers.get(name)
        if browser is None:
            return Response(status_code=404)
        headers = {k.lower(): v for k, v in request.headers.items()}
        scheme, _, params = headers.get("authorization", "").partition(" ")
        fields = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        if scheme != "vapid" or "t" not in fields or "k" not in fields:
            return self.refuse("vapid: missing t= or k=")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
        try:
            claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=self.origin)
        except jwt.PyJWTError as exc:
            return self.refuse(f"vapid: {exc}")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return self.refuse("vapid: sub")
        if claims["exp"] > time.time() + 24 * 3600:
            return self.refuse("vapid: exp more than 24h ahead")
        if headers.get("content-encoding") != "aes128gcm" or "ttl" not in headers:
            return self.refuse("headers: Content-Encoding aes128gcm and TTL are required")
        body = await request.body()
        if len(body) > 4096:
            return Response(status_code=413)
        plain = http_ece.decrypt(body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm")
        self.received.append(Push(name, json.loads(plain), headers, claims))
        return Response(status_code=201, headers={"location": f"{self.origin}/msg/{len(self.received)}"})
