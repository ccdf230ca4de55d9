"""``inbox_push_latency_p50``: ms from a trigger's 201 to ``notification_received`` on a socket connected to
the live API, against the same triggers' trigger→message-stored latency; then how many idle sockets one API
process holds while a connected subscriber's push p50 stays under 250 ms.

The sockets are raw Engine.IO v4 websockets (what socket.io-client does with ``transports: ["websocket"]``),
light enough that thousands fit in this process; their tokens are minted with the run's secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import websockets

from bench.results import Row, median, percentile
from bench.scale import Scale
from bench.stack import INAPP_WORKFLOW, SECRET, Stack

#: (samples, crowd sizes to try) per scale
PLAN = {"smoke": (5, [50]), "ci": (30, [1_000, 5_000]), "full": (100, [1_000, 5_000, 10_000])}
PUSH_BUDGET_MS = 250.0


class RawSocket:
    """One socket.io client over a bare websocket: connects, answers pings, hands events to a callback."""

    def __init__(self, url: str, token: str, on_event: Callable[[str, Any], None] | None = None) -> None:
        ws_url = url.replace("http://", "ws://") + f"/socket.io/?EIO=4&transport=websocket&token={token}"
        self.url = ws_url
        self.on_event = on_event
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ws = await websockets.connect(self.url, open_timeout=30, ping_interval=None, max_queue=None)
        opened = await self.ws.recv()
        if not str(opened).startswith("0"):
            raise RuntimeError(f"unexpected engine.io open: {opened!r}")
        await self.ws.send("40")
        answer = str(await self.ws.recv())
        if not answer.startswith("40"):
            raise RuntimeError(f"socket.io connect refused: {answer!r}")
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in self.ws:
                text = str(frame)
                if text == "2":
                    await self.ws.send("3")
                elif text.startswith("42") and self.on_event is not None:
                    name, data = json.loads(text[2:])
                    self.on_event(name, data)

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()


async def _tokens(stack: Stack, subscriber_ids: list[str]) -> list[str]:
    from api.inbox_auth import issue_token
    from store.models import Environment
    from store.subscribers import upsert_recipients
    from tidings.settings import Settings

    settings = Settings(secret_key=SECRET, data_dir=stack.tmp)
    tokens: list[str] = []
    async with stack.db.session() as session:
        env = await session.get(Environment, stack.env_id)
        assert env is not None
        for start in range(0, len(subscriber_ids), 1_000):
            chunk = subscriber_ids[start : start + 1_000]
            subs = await upsert_recipients(
                db=stack.db,
                session=session,
                environment_id=stack.env_id,
                recipients=[{"subscriberId": s} for s in chunk],
            )
            tokens += [issue_token(settings, environment=env, subscriber=subs[s]) for s in chunk]
    return tokens


async def _samples(
    stack: Stack, subscriber: str, waiting: dict[str, asyncio.Future[float]], n: int
) -> list[tuple[float, float]]:
    """(push ms, stored ms) for ``n`` triggers sent one at a time, both measured from the 201."""
    out: list[tuple[float, float]] = []
    loop = asyncio.get_running_loop()
    async with stack.http(stack.live_url) as http:
        for _ in range(n):
            name = secrets.token_hex(6)
            tx = f"inbox-{name}"
            pushed = waiting[f"Hi {name}"] = loop.create_future()
            body = {"name": INAPP_WORKFLOW, "to": subscriber, "payload": {"name": name}, "transactionId": tx}
            resp = await http.post("/v1/events/trigger", json=body)
            t0 = time.perf_counter()
            resp.raise_for_status()
            stored = None
            deadline = t0 + 30
            while stored is None and time.perf_counter() < deadline:
                if await stack.sql("SELECT 1 FROM messages WHERE transaction_id = :t", t=tx):
                    stored = (time.perf_counter() - t0) * 1000
                else:
                    await asyncio.sleep(0.005)
            if stored is None:
                raise RuntimeError(f"trigger {tx}: no message stored within 30 s")
            arrived = await asyncio.wait_for(pushed, timeout=30)
            out.append(((arrived - t0) * 1000, stored))
    return out


async def _connect(url: str, token: str, gate: asyncio.Semaphore) -> RawSocket | None:
    async with gate:
        s = RawSocket(url, token)
        try:
            await s.open()
        except Exception:  # noqa: BLE001 - a refused socket is what is being counted
            await s.close()
            return None
        return s


async def push_latency(stack: Stack, scale: Scale, row: Row) -> None:
    samples_n, crowds = PLAN.get(scale.name, PLAN["ci"])
    waiting: dict[str, asyncio.Future[float]] = {}

    def received(name: str, data: Any) -> None:
        pushed = waiting.get(data["message"]["content"]) if name == "notification_received" else None
        if pushed is not None and not pushed.done():
            pushed.set_result(time.perf_counter())

    watched = f"inbox-{secrets.token_hex(3)}"
    (token,) = await _tokens(stack, [watched])
    sock = RawSocket(stack.live_url, token, received)
    await sock.open()
    opened: list[RawSocket] = []
    try:
        pairs = await _samples(stack, watched, waiting, samples_n)
        row.value = median([p for p, _ in pairs])
        row.baseline = median([s for _, s in pairs])
        row.extra["push_p90_ms"] = round(percentile([p for p, _ in pairs], 0.9), 1)
        row.extra["samples"] = samples_n
        held: list[dict[str, Any]] = []
        api = stack.procs["api_live"]
        for crowd in crowds:
            ids = [f"crowd-{secrets.token_hex(5)}" for _ in range(crowd - len(opened))]
            tokens = await _tokens(stack, ids)
            gate = asyncio.Semaphore(50)
            connected = await asyncio.gather(*(_connect(stack.live_url, t, gate) for t in tokens))
            opened += [s for s in connected if s is not None]
            pairs = await _samples(stack, watched, waiting, max(10, samples_n // 3))
            p50 = median([p for p, _ in pairs])
            held.append(
                {
                    "sockets": len(opened) + 1,
                    "push_p50_ms": round(p50, 1),
                    "api_rss_mb": round(api.ps.memory_info().rss / 2**20, 1),
                }
            )
            if p50 >= PUSH_BUDGET_MS:
                break
        row.extra["sockets_held"] = held
        ok = [h["sockets"] for h in held if h["push_p50_ms"] < PUSH_BUDGET_MS]
        row.note = (
            f"one API process held {max(ok) if ok else 0} concurrent sockets with push p50 < "
            f"{PUSH_BUDGET_MS:.0f} ms ({stack.backend}); baseline = trigger→message-stored p50 of the same triggers"
        )
    finally:
        await asyncio.gather(*(s.close() for s in opened), sock.close())
