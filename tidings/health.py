"""A tiny HTTP endpoint for a process without a web server (the worker): ``/health/live`` answers while
the process runs, ``/health/ready`` while it is connected and polling. Kubernetes probes and the image's
HEALTHCHECK use it; no framework, because the worker has no other HTTP to serve."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable


class HealthServer:
    def __init__(self, host: str, port: int, *, ready: Callable[[], bool]) -> None:
        self.host, self.port, self._ready = host, port, ready
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) >= 2 else ""
            if path == "/health/live":
                status, body = 200, {"status": "ok"}
            elif path == "/health/ready":
                ok = self._ready()
                status, body = (200, {"status": "ok"}) if ok else (503, {"status": "not ready"})
            else:
                status, body = 404, {"status": "not found"}
            payload = json.dumps(body).encode()
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
