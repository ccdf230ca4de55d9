"""One error root, and the single place errors become Novu's error body.

``{statusCode, timestamp, path, message, error}`` for every non-2xx answer: our own errors, request
validation (400 with a message array, as class-validator answers; on ``/v2/`` routes 422 with the
messages under ``errors.general``, as Novu's current filter answers), unknown routes, oversized bodies
and unexpected failures (500 with an ``errorId``; the stack trace goes to the log, never the client).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, get_args, get_origin

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.unavailable import UNAVAILABLE_TYPES, bad_input, unavailable_answer, unavailable_reason
from store.db import iso, utcnow

log = logging.getLogger("tidings.api")

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


class TidingsError(Exception):
    """Something the caller did that Tidings refuses; carries the HTTP status and Novu's message."""

    status_code = 400

    def __init__(
        self, message: Any, *, status_code: int | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message if isinstance(message, str) else repr(message))
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.headers = headers


class BadRequest(TidingsError):
    status_code = 400


class Unauthorized(TidingsError):
    status_code = 401


class NotFound(TidingsError):
    status_code = 404


class Conflict(TidingsError):
    status_code = 409


class Unprocessable(TidingsError):
    status_code = 422


def error_body(status: int, path: str, message: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "statusCode": status,
        "timestamp": iso(utcnow()),
        "path": path,
        "message": message,
    }
    if status in REASONS:
        body["error"] = REASONS[status]
    return body


def error_response(
    request: Request, status: int, message: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(status, request.url.path, message), status_code=status, headers=headers)


_TYPE_MESSAGES = {
    "string": "must be a string",
    "bool": "must be a boolean value",
    "int": "must be an integer number",
    "float": "must be a number conforming to the specified constraints",
    "dict": "must be an object",
    "model": "must be an object",
    "list": "must be an array",
}


def _field_annotation(model: Any, loc: list[Any]) -> Any:
    """The annotation of the field at ``loc`` inside a pydantic model, if it can be found."""
    current = model
    ann: Any = None
    for part in loc:
        if isinstance(part, int):
            args = get_args(ann)
            current = args[0] if args else None
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        if field is None:
            return None
        ann = field.annotation
        current = ann
    return ann


def _is_str(ann: Any) -> bool:
    """A plain (or optional) string field: class-validator adds "must be a string" when it is missing."""
    return ann is str or (
        get_origin(ann) is not None and [a for a in get_args(ann) if a is not type(None)] == [str]
    )


def validation_messages(errors: list[dict[str, Any]], model: Any = None) -> list[str]:
    """pydantic errors → class-validator style messages (``"name should not be null or undefined"`` …)."""
    messages: list[str] = []

    def add(text: str) -> None:
        if text not in messages:
            messages.append(text)

    for err in errors:
        loc = [p for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        # Drop union-member tags pydantic adds ("str", "function-after[...]", …).
        loc = [
            p for p in loc if isinstance(p, int) or not (p in _TYPE_MESSAGES or "[" in str(p) or p == "str")
        ]
        name = ".".join(str(p) for p in loc) or "body"
        kind = str(err.get("type", ""))
        base = kind.split("_")[0]
        if kind == "missing" or (err.get("input", 0) is None and kind.endswith("_type")):
            add(f"{name} should not be null or undefined")
            if kind == "missing" and _is_str(_field_annotation(model, loc)):
                add(f"{name} must be a string")
            elif kind != "missing" and base in _TYPE_MESSAGES:
                add(f"{name} {_TYPE_MESSAGES[base]}")
        elif kind in ("too_long",) and "max_length" in err.get("ctx", {}):
            add(f"{name} must contain no more than {err['ctx']['max_length']} elements")
        elif kind in ("too_short",):
            add(f"{name} should not be empty")
        elif (
            kind in ("int_from_float", "int_parsing")
            or base in _TYPE_MESSAGES
            and kind.endswith(("_type", "_parsing"))
        ):
            add(f"{name} {_TYPE_MESSAGES.get(base, 'has the wrong type')}")
        elif kind == "value_error" and "email" in str(err.get("msg", "")):
            add(f"{name} must be an email")
        elif kind == "value_error":
            add(str(err.get("ctx", {}).get("error") or err.get("msg")))
        elif kind == "json_invalid":
            add(f"Unexpected token in JSON at position {err.get('ctx', {}).get('error', '')}".strip())
        elif kind == "extra_forbidden":
            add(f"property {name} should not exist")
        else:
            add(f"{name} {err.get('msg', 'is invalid')}")
    return messages


def is_v2(request: Request) -> bool:
    return request.url.path.startswith("/v2/")


def v2_validation_response(request: Request, messages: list[Any]) -> JSONResponse:
    """Novu's current answer to a request its validation pipe refuses (the v2 SDKs parse it as
    ``ValidationErrorDto``): 422, ``message: "Validation Error"``, the messages under ``errors.general``."""
    body = error_body(422, request.url.path, "Validation Error")
    body["ctx"] = {}
    body["errors"] = {"general": {"messages": messages, "value": "No Value Recorded"}}
    return JSONResponse(body, status_code=422)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into Novu's error body."""

    @app.exception_handler(TidingsError)
    async def _tidings(request: Request, exc: TidingsError) -> JSONResponse:
        if is_v2(request) and exc.status_code == 400 and isinstance(exc.message, list):
            return v2_validation_response(request, exc.message)
        if isinstance(exc.message, dict):
            # Novu lifts an object's ``message`` and spreads the rest flat and under ``ctx``.
            ctx = {k: v for k, v in exc.message.items() if k != "message"}
            message = exc.message.get("message", f"Api Exception Raised with status {exc.status_code}")
            body = {**ctx, **error_body(exc.status_code, request.url.path, message), "ctx": ctx}
            return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
        return error_response(request, exc.status_code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(
                request, 400, "Unexpected token in JSON: the request body is not valid JSON"
            )
        route = request.scope.get("route")
        body_field = getattr(route, "body_field", None)
        model = body_field.field_info.annotation if body_field is not None else None
        if is_v2(request):
            return v2_validation_response(request, validation_messages(errors, model))
        return error_response(request, 400, validation_messages(errors, model))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in (404, 405):
            return error_response(request, 404, f"Cannot {request.method} {request.url.path}")
        return error_response(request, exc.status_code, exc.detail, getattr(exc, "headers", None))

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        if bad_input(exc):
            message = "Invalid input: a value is out of range or contains characters that cannot be stored"
            return error_response(request, 400, message)
        neighbour = unavailable_reason(exc)
        if neighbour is None:
            raise exc  # a bug, not a neighbour: the 500 handler below
        log.warning("%s unavailable on %s %s: %s", neighbour, request.method, request.url.path, exc)
        message, headers = unavailable_answer(neighbour, getattr(request.app.state, "settings", None))
        return error_response(request, 503, message, headers)

    for kind in UNAVAILABLE_TYPES:
        app.add_exception_handler(kind, _unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        error_id = str(uuid.uuid4())
        log.exception("unhandled error %s on %s %s", error_id, request.method, request.url.path)
        body = error_body(
            500, request.url.path, "Internal server error, contact support and provide them with the errorId"
        )
        body["errorId"] = error_id
        return JSONResponse(body, status_code=500)


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with a 413 in Novu's shape, before the route reads them."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(scope, send)
            return
        seen = 0

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(scope, send)

    async def _reject(self, scope: Any, send: Any) -> None:
        import json

        body = json.dumps(
            error_body(413, scope.get("path", ""), f"request entity too large (limit {self.max_bytes} bytes)")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
