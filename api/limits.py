"""Limits at the door: what a request may be, checked before any work is done for it.

Every limit here is a 400 (or 401/413/429) in Novu's error body; ``docs/limits.md`` is the table of all of
them. :class:`DoorGuard` runs first for every request: it refuses clients that keep failing
authentication (429), authenticates an ``ApiKey`` before the body is read (401), reads the body under a
size cap (413; a much smaller cap without an API key) and refuses JSON nested deeper than
:data:`MAX_JSON_DEPTH` (400). The per-field limits (transactionId, payload, delay) are checked by the
request models, through the functions below.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import OrderedDict, deque
from typing import Any

from api.errors import error_body
from api.unavailable import UNAVAILABLE_TYPES, unavailable_answer, unavailable_reason
from store.channel_credentials import MAX_DEVICE_TOKENS  # sent in one update, and kept (the newest)
from workflows.steps.timing import MAX_DELAY, UNIT_SECONDS

log = logging.getLogger("tidings.api")

#: Probes that need no key and must answer while the database is down (they report it).
HEALTH_PATHS = ("/v1/health-check", "/health/")

#: transactionId: Temporal workflow IDs are capped at 1000 bytes and ours are ``<environment>:<tx>``.
MAX_TRANSACTION_ID_BYTES = 256
#: Nesting of any JSON body (objects and arrays): the worker's decoder gives up near 200 levels.
MAX_JSON_DEPTH = 32
#: A trigger's payload + overrides + to + actor + tenant, as JSON: Temporal refuses inputs over 2 MB.
MAX_TRIGGER_BYTES = 512 * 1024
#: One template string of a workflow step (content, subject, …) and a layout.
MAX_TEMPLATE_CHARS = 100_000
#: Steps of one workflow.
MAX_STEPS = 100
#: Subscribers added to or removed from a topic in one call.
MAX_TOPIC_SUBSCRIBERS = 50_000
#: Query integers without a tighter bound of their route (``page``, ``limit`` …).
MAX_PAGE = 100_000
MAX_QUERY_INT = 1_000_000
#: Body cap for requests without an API key (Inbox sessions, OAuth callbacks are small).
MAX_UNAUTHENTICATED_BODY = 64 * 1024
#: Failed authentications (401) one client IP may have in :data:`AUTH_WINDOW_SECONDS` before 429s.
AUTH_FAILURES = 20
AUTH_WINDOW_SECONDS = 60.0
_TRACKED_CLIENTS = 10_000

__all__ = ["MAX_DEVICE_TOKENS", "DoorGuard"]


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether objects/arrays nest deeper than ``limit`` (iterative: a deep value cannot blow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _strings(value: Any) -> Any:
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            yield current
        elif isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def check_steps(steps: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """At most :data:`MAX_STEPS` steps, no template text longer than :data:`MAX_TEMPLATE_CHARS`."""
    if steps is None:
        return steps
    if len(steps) > MAX_STEPS:
        raise ValueError(f"steps must contain no more than {MAX_STEPS} elements")
    if any(len(text) > MAX_TEMPLATE_CHARS for text in _strings(steps)):
        raise ValueError(f"a step's template texts must be at most {MAX_TEMPLATE_CHARS} characters each")
    return steps


def check_template(content: str | None) -> str | None:
    """A layout's content: at most :data:`MAX_TEMPLATE_CHARS` characters."""
    if content is not None and len(content) > MAX_TEMPLATE_CHARS:
        raise ValueError(f"content must be at most {MAX_TEMPLATE_CHARS} characters")
    return content


def check_transaction_id(value: str | None) -> str | None:
    """At most :data:`MAX_TRANSACTION_ID_BYTES` bytes of printable characters (no control characters)."""
    if value is None:
        return value
    if not value or not value.isprintable() or len(value.encode()) > MAX_TRANSACTION_ID_BYTES:
        raise ValueError(
            f"transactionId must be 1 to {MAX_TRANSACTION_ID_BYTES} bytes of printable characters"
        )
    return value


def check_trigger_size(fields: dict[str, Any]) -> None:
    """The trigger's data (payload, overrides, to, actor, tenant) must fit in :data:`MAX_TRIGGER_BYTES`."""
    size = len(json.dumps(fields, separators=(",", ":"), default=str, ensure_ascii=False).encode())
    if size > MAX_TRIGGER_BYTES:
        raise ValueError(
            f"payload, overrides and recipients must be at most {MAX_TRIGGER_BYTES} bytes as JSON"
        )
    if json_depth_exceeds(fields, MAX_JSON_DEPTH):
        raise ValueError(f"payload and overrides must not be nested deeper than {MAX_JSON_DEPTH} levels")


def check_delay_override(overrides: dict[str, Any]) -> None:
    """``overrides.delay = {amount, unit}``: a finite, non-negative amount of a known unit, at most a year."""
    delay = overrides.get("delay")
    if delay is None:
        return
    if not isinstance(delay, dict):
        raise ValueError("overrides.delay must be an object with amount and unit")
    unit = delay.get("unit") or "seconds"
    amount = delay.get("amount", 0)
    if unit not in UNIT_SECONDS:
        raise ValueError(f"overrides.delay.unit must be one of {', '.join(UNIT_SECONDS)}")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise ValueError("overrides.delay.amount must be a number")
    if not math.isfinite(amount) or amount < 0 or amount * UNIT_SECONDS[unit] > MAX_DELAY.total_seconds():
        raise ValueError(
            f"overrides.delay.amount must be a finite number from 0 to {MAX_DELAY.days} days in {unit}"
        )


def query_bound(name: str) -> int:
    """The upper bound of a query integer whose route gives none."""
    return MAX_PAGE if name == "page" else MAX_QUERY_INT


class _AuthThrottle:
    """Failed authentications per client IP in a sliding window (per API process)."""

    def __init__(self) -> None:
        self.failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, ip: str, now: float) -> int:
        """Seconds until ``ip`` may try again; 0 when it may now."""
        seen = self.failures.get(ip)
        if not seen:
            return 0
        while seen and seen[0] <= now - AUTH_WINDOW_SECONDS:
            seen.popleft()
        if len(seen) < AUTH_FAILURES:
            return 0
        return max(1, math.ceil(seen[0] + AUTH_WINDOW_SECONDS - now))

    def fail(self, ip: str, now: float) -> None:
        seen = self.failures.setdefault(ip, deque(maxlen=AUTH_FAILURES))
        seen.append(now)
        self.failures.move_to_end(ip)
        while len(self.failures) > _TRACKED_CLIENTS:
            self.failures.popitem(last=False)


class DoorGuard:
    """The first middleware: throttle failed auth, authenticate before the body, bound the body."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from api.deps import environment_for_api_key, known_key

        ip = (scope.get("client") or ("unknown", 0))[0]
        now = time.monotonic()
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        state = scope["app"].state
        throttle: _AuthThrottle = getattr(state, "auth_throttle", None) or _AuthThrottle()
        state.auth_throttle = throttle  # on the app's state: one per API process, visible to operators
        wait = throttle.retry_after(ip, now)
        # A blocked client still gets through with a key known good (cached, then checked again below if
        # its environment's configuration changed since): only guessing is stopped.
        if wait and not (scheme == "ApiKey" and key and known_key(state, key)):
            message = f"Too many failed authentication attempts; retry in {wait} seconds"
            await _answer(scope, send, 429, message, {"retry-after": str(wait)})
            return
        authenticated = False
        if scheme == "ApiKey" and key:
            try:
                env = await environment_for_api_key(state, key, scope)
            except UNAVAILABLE_TYPES as exc:  # the key cannot be checked: the database is gone or locked
                neighbour = unavailable_reason(exc)
                if neighbour is None:
                    raise
                if str(scope.get("path", "")).startswith(HEALTH_PATHS):  # need no key: they say what is down
                    await self.app(scope, receive, send)
                    return
                log.warning("%s unavailable checking an API key on %s: %s", neighbour, scope.get("path"), exc)
                message, headers = unavailable_answer(neighbour, getattr(state, "settings", None))
                await _answer(scope, send, 503, message, headers)
                return
            if env is None:
                throttle.fail(ip, now)
                await _answer(scope, send, 401, "API Key not found")
                return
            authenticated = True

        async def counting_send(message: Any) -> None:
            # Guessing API keys is what is throttled. A request without a key learns nothing, and a signed
            # Inbox session token (Bearer) cannot be guessed; a browser with an expired one just reconnects.
            if message["type"] == "http.response.start" and message["status"] == 401 and scheme == "ApiKey":
                throttle.fail(ip, time.monotonic())
            await send(message)

        if scope.get("method") not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, counting_send)
            return
        cap = self.max_body_bytes if authenticated else min(self.max_body_bytes, MAX_UNAUTHENTICATED_BODY)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > cap:
            await _answer(scope, send, 413, f"request entity too large (limit {cap} bytes)")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await _answer(scope, send, 413, f"request entity too large (limit {cap} bytes)")
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if body[:1] in (b"{", b"[") or body.lstrip()[:1] in (b"{", b"["):
            try:
                too_deep = json_depth_exceeds(json.loads(body))
            except RecursionError:
                too_deep = True
            except ValueError:
                too_deep = False  # not JSON: the route answers that
            if too_deep:
                await _answer(
                    scope, send, 400, [f"body must not be nested deeper than {MAX_JSON_DEPTH} levels"]
                )
                return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, counting_send)


async def _answer(
    scope: Any, send: Any, status: int, message: Any, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(error_body(status, scope.get("path", ""), message)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
