"""Every route of ``/openapi.json`` describes what it answers: a JSON shape for each 2xx with a body, Novu's
error body for 4xx, and Novu's names (``_id``, ``createdAt``) and envelopes (``data``, pages, cursors)."""

from __future__ import annotations

from typing import Any

import pytest

from api.app import create_app
from tidings.settings import Settings

NO_BODY = {"204", "302"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def test_every_operation_declares_the_shape_of_its_answer(spec: dict[str, Any]) -> None:
    missing = []
    for method, path, op in operations(spec):
        for code, response in op["responses"].items():
            if not code.startswith("2") or code in NO_BODY:
                continue
            content = response.get("content", {})
            if "text/html" in content:
                continue
            schema = resolve(spec, content.get("application/json", {}).get("schema", {}))
            if not schema.get("properties"):
                missing.append(f"{method.upper()} {path} {code}")
    assert not missing, "routes without a response shape:\n" + "\n".join(missing)


def test_errors_are_documented_as_novus_error_body(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        assert "422" not in op["responses"] or "4XX" in op["responses"], f"{method} {path}: FastAPI's 422"
        error = resolve(spec, op["responses"]["4XX"]["content"]["application/json"]["schema"])
        assert {"statusCode", "timestamp", "path", "message", "error"} <= set(error["properties"])


def data_of(spec: dict[str, Any], path: str, method: str, code: str = "200") -> dict[str, Any]:
    answer = spec["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]
    return resolve(spec, answer)


def test_novu_names_envelopes_and_pages(spec: dict[str, Any]) -> None:
    page = data_of(spec, "/v1/subscribers", "get")
    assert {"page", "pageSize", "data", "totalCount", "hasMore"} <= set(page["properties"])
    subscriber = resolve(spec, page["properties"]["data"]["items"])
    assert {"_id", "_environmentId", "subscriberId", "createdAt", "updatedAt"} <= set(
        subscriber["properties"]
    )
    created = data_of(spec, "/v1/subscribers", "post", "201")
    assert set(created["properties"]) == {"data"}
    cursor = data_of(spec, "/v2/subscribers", "get")
    assert {"data", "next", "previous", "totalCount", "totalCountCapped"} <= set(cursor["properties"])
    inbox = data_of(spec, "/v1/inbox/notifications", "get")
    item = resolve(spec, inbox["properties"]["data"]["items"])
    assert {"id", "isRead", "isSeen", "createdAt", "workflow"} <= set(item["properties"])
    message = resolve(spec, data_of(spec, "/v1/messages", "get")["properties"]["data"]["items"])
    assert {"_id", "_subscriberId", "transactionId", "channel", "createdAt"} <= set(message["properties"])


async def test_a_response_model_sends_exactly_what_the_view_built() -> None:
    """Declared-but-unset fields are not sent as null, undeclared ones pass through, ``id`` stays ``id``."""
    import httpx
    from fastapi import FastAPI
    from pydantic import Field

    from api.wire import Data, NovuObject, Page, WireRouter

    class SubscriberOut(NovuObject):  # declared fields all optional: what is unset must stay unsent
        id_: str | None = Field(None, alias="_id")
        subscriberId: str | None = None
        firstName: str | None = None
        channels: list[Any] | None = None

    view = {
        "_id": "s1",
        "id": "not-an-alias",
        "subscriberId": "ada",
        "__v": 0,
        "channels": [],
        "extra": {"a": 1},
    }
    router = WireRouter()

    @router.get("/one", response_model=Data[SubscriberOut])
    async def one() -> dict[str, Any]:
        return {"data": view}

    @router.get("/page", response_model=Page[SubscriberOut])
    async def page() -> dict[str, Any]:
        return {"page": 0, "pageSize": 10, "hasMore": False, "data": [view, {"id": "v2-style"}]}

    app = FastAPI()
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/one")).json() == {"data": view}
        listed = (await client.get("/page")).json()
    assert listed == {"page": 0, "pageSize": 10, "hasMore": False, "data": [view, {"id": "v2-style"}]}


#: Fields every answer carries, by Tidings' view and Novu's ``required`` list (``novu-v1-openapi.json``).
ALWAYS = {
    ("/v1/subscribers/{subscriber_id}", "get"): {
        "_id", "_organizationId", "_environmentId", "subscriberId", "deleted", "createdAt", "updatedAt"
    },
    ("/v1/topics/{topic_key}", "get"): {"_organizationId", "_environmentId", "key", "name", "subscribers"},
    ("/v1/integrations", "post"): {"_environmentId", "_organizationId", "name", "providerId", "active"},
    ("/v1/notifications/stats", "get"): {"weeklySent", "monthlySent"},
    ("/v2/subscribers/{subscriber_id}/preferences", "get"): {"global", "workflows"},
    ("/v1/subscribers/bulk", "post"): {"created", "updated", "failed"},
    ("/v1/subscribers/{subscriber_id}/schedule", "get"): {"isEnabled", "weeklySchedule"},
    ("/v1/subscribers/{subscriber_id}/schedule", "put"): {"isEnabled", "weeklySchedule"},
    ("/v1/topics/{topic_key}/subscribers", "post"): {"succeeded"},
    ("/v1/events/trigger/{transaction_id}/progress", "get"): {
        "transactionId", "status", "notifications", "messages"
    },
    ("/v1/workflows", "post"): {"_id", "name", "active", "critical", "tags", "steps", "triggers", "createdAt"},
    ("/v1/workflows/variables", "get"): {"translations", "system"},
    ("/v1/inbox/session", "post"): {
        "token", "totalUnreadCount", "unreadCount", "removeNovuBranding", "isDevelopmentMode",
        "maxSnoozeDurationHours", "applicationIdentifier",
    },
    ("/v1/inbox/web-push", "get"): {"enabled"},
    ("/v1/inbox/web-push/subscriptions", "post"): {"subscribed"},
    ("/v1/inbox/web-push/subscriptions/remove", "post"): {"subscribed"},
    ("/v2/topics/{topic_key}/subscriptions/{identifier}", "get"): {"id", "identifier", "preferences"},
    ("/v2/translations/master-json", "get"): {"workflows", "layouts"},
    ("/v2/translations/master-json", "post"): {"success", "message", "successful", "failed"},
    ("/v2/translations/master-json/upload", "post"): {"success", "message", "successful", "failed"},
    ("/v2/translations/upload", "post"): {"totalFiles", "successfulUploads", "failedUploads", "errors"},
}  # fmt: skip

#: Required but nullable: always sent, ``null`` when there is nothing to send.
ALWAYS_OR_NULL = {
    ("/v1/inbox/web-push", "get"): {"vapidPublicKey"},  # null until the integration has a VAPID key
}


def answer_of(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    """The ``data`` document of an operation's success answer."""
    code = next(c for c in spec["paths"][path][method]["responses"] if c.startswith("2"))
    return resolve(spec, data_of(spec, path, method, code)["properties"]["data"])


def test_the_document_says_which_fields_every_answer_carries(spec: dict[str, Any]) -> None:
    """Clients generated from ``/openapi.json`` may rely on these: they are ``required``, and never null."""
    for (path, method), fields in ALWAYS.items():
        document = answer_of(spec, path, method)
        assert fields <= set(document.get("required", [])), f"{method.upper()} {path}"
        for name in fields:
            assert "anyOf" not in document["properties"][name], f"{method.upper()} {path} {name} is nullable"
    for (path, method), fields in ALWAYS_OR_NULL.items():
        assert fields <= set(answer_of(spec, path, method)["required"]), f"{method.upper()} {path}"
    message = resolve(spec, data_of(spec, "/v1/messages", "get")["properties"]["data"]["items"])
    assert {"_id", "_subscriberId", "transactionId", "channel", "createdAt"} <= set(message["required"])
    assert "subject" not in message["required"]  # sent only when the message has one
    brief = answer_of(spec, "/v2/topics/{topic_key}/subscriptions/{identifier}", "get")
    preference = resolve(spec, brief["properties"]["preferences"]["items"])
    assert {"subscriptionId", "enabled", "workflow"} <= set(preference["required"])
    assert "condition" not in preference["required"]  # sent when the preference has one
    workflow = resolve(spec, preference["properties"]["workflow"]["anyOf"][0])  # null: names no workflow
    assert {"id", "identifier", "name", "critical", "severity", "tags"} <= set(workflow["required"])


def test_inbox_and_v2_notifications_are_one_document(spec: dict[str, Any]) -> None:
    """Novu answers both with its ``InboxNotificationDto``; so does Tidings (one model, one builder)."""
    items = [
        data_of(spec, path, "get")["properties"]["data"]["items"]
        for path in ("/v1/inbox/notifications", "/v2/subscribers/{subscriber_id}/notifications")
    ]
    assert items[0] == items[1]
    notification = resolve(spec, items[0])
    assert {"id", "transactionId", "body", "to", "isRead", "isSeen", "isArchived", "isSnoozed"} <= set(
        notification["required"]
    )
    assert {"createdAt", "channelType", "tags", "severity"} <= set(notification["required"])
    action = resolve(spec, notification["properties"]["primaryAction"]["anyOf"][0])
    assert set(action["required"]) == {"label", "isCompleted"}
