"""A minimal HTTP/2 (h2c, prior knowledge) server built on ``h2``, speaking APNs' ``/3/device/{token}``.

It records each request's pseudo-headers, headers and body and answers 200 with an ``apns-id`` header,
or a queued error status with APNs' ``{"reason": …}`` body.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import h2.config
import h2.connection
import h2.events


@dataclass
class H2Request:
    headers: dict[str, str]
    body: bytes = b""

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeApns:
    requests: list[H2Request] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        streams: dict[int, H2Request] = {}
        while True:
            data = await reader.read(65535)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    streams[event.stream_id] = H2Request(
                        {
                            (k.decode() if isinstance(k, bytes) else k): (
                                v.decode() if isinstance(v, bytes) else v
                            )
                            for k, v in event.headers
                        }
                    )
                elif isinstance(event, h2.events.DataReceived):
                    streams[event.stream_id].body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    self.answer(conn, event.stream_id, streams.pop(event.stream_id))
            writer.write(conn.data_to_send())
            await writer.drain()
        writer.close()

    def answer(self, conn: h2.connection.H2Connection, stream_id: int, request: H2Request) -> None:
        self.requests.append(request)
        if self.failures:
            status, reason = self.failures.pop(0)
            body = json.dumps({"reason": reason}).encode()
            conn.send_headers(stream_id, [(":status", str(status)), ("content-length", str(len(body)))])
            conn.send_data(stream_id, body, end_stream=True)
            return
        apns_id = request.headers.get("apns-id", "generated-id")
        conn.send_headers(stream_id, [(":status", "200"), ("apns-id", apns_id)], end_stream=True)
