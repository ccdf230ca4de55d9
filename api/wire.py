"""Novu wire helpers: the ``{data: …}`` envelope and query values as Novu's clients send them."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict

from api.errors import BadRequest
from api.limits import query_bound

T = TypeVar("T")


def compact(view: dict[str, Any]) -> dict[str, Any]:
    """Drop null fields, as Novu's documents omit unset ones (the TypeScript SDK rejects nulls)."""
    return {k: v for k, v in view.items() if v is not None}


def ok(value: Any) -> dict[str, Any]:
    """Novu's success envelope for a non-paginated result."""
    return {"data": value}


class Data(BaseModel, Generic[T]):
    """Novu's success envelope ``{"data": …}``, as a response model (``response_model=Data[FeedOut]``)."""

    data: T


class WireModel(BaseModel):
    """A Novu response object: Python field names, sent under Novu's names (``_id``, ``createdAt``) given as
    ``Field(serialization_alias=…)``.

    The pattern for a route: declare ``response_model=Data[XOut]`` (FastAPI serializes by alias), build
    ``XOut`` from the store row in the router, and the OpenAPI document shows the shape Novu's clients read.
    """

    model_config = ConfigDict(serialize_by_alias=True)


class NovuObject(BaseModel):
    """A Novu response document as a response model: the fields clients read are declared (under Novu's
    names: ``_id``, ``createdAt`` via ``alias``), anything else the view sends passes through untouched.

    A declared field without a default is one every answer carries (``required`` in ``/openapi.json``); the
    others default to ``None`` and are sent only when the view set them (routes serialize with
    ``exclude_unset``), so declaring a model never adds a ``null`` the TypeScript SDK would reject.
    """

    # Validated by Novu's names only: a view's ``id`` key never turns into ``_id`` on the wire.
    model_config = ConfigDict(extra="allow", serialize_by_alias=True)


class Page(BaseModel, Generic[T]):
    """Novu's v1 offset pagination ``{page, pageSize, data, totalCount?, hasMore?}``."""

    page: int
    pageSize: int
    data: list[T]
    totalCount: int | None = None
    hasMore: bool | None = None


class CursorList(BaseModel, Generic[T]):
    """Novu's v2 cursor list ``{data, next, previous, totalCount, totalCountCapped}`` (not enveloped)."""

    data: list[T]
    next: str | None = None
    previous: str | None = None
    totalCount: int | None = None
    totalCountCapped: bool | None = None


class NovuError(BaseModel):
    """Novu's error body, for every 4xx/5xx (``api.errors`` builds it; v2 validation adds ``errors``)."""

    model_config = ConfigDict(extra="allow")
    statusCode: int
    timestamp: str
    path: str
    message: Any
    error: str | None = None


#: Documented on every route: replaces FastAPI's default 422 ``HTTPValidationError``, which Tidings never sends.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": NovuError,
        "description": "Novu's error body",
        # JSON even on the routes that answer HTML or a redirect when they succeed
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NovuError"}}},
    }
}


class WireRouter(APIRouter):
    """An ``APIRouter`` whose response models send only what the route set (``response_model_exclude_unset``):
    a response model documents and checks the wire, it never adds fields to it."""

    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        kwargs["response_model_exclude_unset"] = True
        super().add_api_route(path, endpoint, **kwargs)


def _float_int(value: Any) -> Any:
    """Accept ``10.0`` (what novu-py sends) as 10; anything non-integral stays invalid."""
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return value
        if number.is_integer():
            return int(number)
    return value


QueryInt = Annotated[int, BeforeValidator(_float_int)]


def query_int(
    name: str, value: Any, *, default: int, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Parse an integer query value Novu-style, with its class-validator message on failure."""
    if value is None or value == "":
        return default
    parsed = _float_int(value)
    if not isinstance(parsed, int):
        raise BadRequest([f"{name} must be an integer number"])
    if maximum is None:  # every query integer is bounded (a huge page was an SQL overflow, a 500)
        maximum = query_bound(name)
    if minimum is not None and parsed < minimum:
        raise BadRequest([f"{name} must not be less than {minimum}"])
    if maximum is not None and parsed > maximum:
        raise BadRequest([f"{name} must not be greater than {maximum}"])
    return parsed


def query_bool(name: str, value: Any) -> bool | None:
    if value is None or value == "":
        return None
    text = str(value).lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise BadRequest([f"{name} must be a boolean value"])
