"""Isolation by construction (issue 13 item 2): every route, called with environment B's key against what
exists in environment A, answers 404/400 or B's own (empty) data, never A's, and changes nothing of A.

Routes are walked from the app itself, so a new route is covered the day it lands — and fails here until
it gets a line in ``CALLS`` (its body), so nobody forgets to think about it.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from fastapi.routing import APIRoute

from store.hmac_keys import subscriber_hash
from tests.support import Env, Stack
from tests.timing_support import define, in_app

#: Routes that need no key at all, with why.
PUBLIC = {
    "GET /v1/health-check": "reports only up/down",
    "GET /health/live": "process liveness",
    "GET /health/ready": "reports only which dependency is down",
    "GET /docs": "the OpenAPI page",
    "GET /docs/oauth2-redirect": "part of the OpenAPI page",
    "GET /redoc": "the OpenAPI page",
    "GET /inbox": "a static page; it holds no data until a subscriber session is opened",
    "GET /inbox/assets/{name:path}": "the page's static files",
    "GET /inbox/sw.js": "the page's service worker",
    "GET /metrics": "process-wide Prometheus counters, no tenant data (scrape it from inside the cluster)",
    "POST /v1/inbox/session": (
        "public by design, as in Novu: the applicationIdentifier is public and HMAC guards subscribers "
        "(tests/integration/test_inbox_security.py walks every Inbox route with another subscriber's token)"
    ),
}

#: Path parameters that name a row of A by its id: B must get a 4xx, never a 2xx.
A_ONLY = {
    "integration_id", "layout_id", "group_id", "notification_id", "message_id", "feed_id", "override_id",
    "workflow_id", "schedule_id", "endpoint_id",
}  # fmt: skip

#: Routes that answer 2xx for an id they do not find, as Novu does (markers and the snapshot still apply).
NOT_FOUND_IS_OK = {
    "DELETE /v1/feeds/{feed_id}": "answers the feeds that remain",
}

SUB = "{subscriber}"
#: Every route: its JSON body ("-" for none) and query parameters. Strings in {braces} are A's values.
CALLS: dict[str, tuple[Any, dict[str, str]]] = {
    "GET /v1/environments": ("-", {}),
    "GET /v1/environments/api-keys": ("-", {}),
    "GET /v1/environments/me": ("-", {}),
    "POST /v1/events/trigger": ({"name": "{trigger}", "to": SUB, "payload": {}}, {}),
    "POST /v1/events/trigger/broadcast": ({"name": "{trigger}", "payload": {}}, {}),
    "POST /v1/events/trigger/bulk": ({"events": [{"name": "{trigger}", "to": SUB}]}, {}),
    "DELETE /v1/events/trigger/{transaction_id}": ("-", {}),
    "GET /v1/events/trigger/{transaction_id}/progress": ("-", {}),
    "GET /v1/execution-details": (
        "-",
        {"transactionId": "{transaction}", "notificationId": "{notification}"},
    ),
    "GET /v1/feeds": ("-", {}),
    "POST /v1/feeds": ({"name": "b-feed"}, {}),
    "DELETE /v1/feeds/{feed_id}": ("-", {}),
    "GET /v1/integrations": ("-", {}),
    "POST /v1/integrations": ({"providerId": "sendgrid", "channel": "email"}, {}),
    "GET /v1/integrations/active": ("-", {}),
    "DELETE /v1/integrations/{integration_id}": ("-", {}),
    "PUT /v1/integrations/{integration_id}": ({"name": "stolen", "credentials": {"apiKey": "********"}}, {}),
    "POST /v1/integrations/{integration_id}/set-primary": ("-", {}),
    "GET /v1/layouts": ("-", {}),
    "POST /v1/layouts": ({"name": "b", "identifier": "b-layout", "content": "{{{body}}}"}, {}),
    "DELETE /v1/layouts/{layout_id}": ("-", {}),
    "GET /v1/layouts/{layout_id}": ("-", {}),
    "PATCH /v1/layouts/{layout_id}": ({"name": "stolen"}, {}),
    "POST /v1/layouts/{layout_id}/default": ("-", {}),
    "GET /v1/messages": ("-", {"subscriberId": SUB, "transactionId": "{transaction}"}),
    "DELETE /v1/messages/transaction/{transaction_id}": ("-", {}),
    "DELETE /v1/messages/{message_id}": ("-", {}),
    "GET /v1/notification-groups": ("-", {}),
    "POST /v1/notification-groups": ({"name": "b-group"}, {}),
    "DELETE /v1/notification-groups/{group_id}": ("-", {}),
    "GET /v1/notification-groups/{group_id}": ("-", {}),
    "PATCH /v1/notification-groups/{group_id}": ({"name": "stolen"}, {}),
    "GET /v1/notification-templates": ("-", {}),
    "POST /v1/notification-templates": ({"name": "b-wf", "notificationGroupId": "{group}", "steps": []}, {}),
    "GET /v1/notification-templates/variables": ("-", {}),
    "DELETE /v1/notification-templates/{workflow_id}": ("-", {}),
    "GET /v1/notification-templates/{workflow_id}": ("-", {}),
    "PUT /v1/notification-templates/{workflow_id}": ({"name": "stolen"}, {}),
    "PUT /v1/notification-templates/{workflow_id}/status": ({"active": False}, {}),
    "GET /v1/notifications": ("-", {"transactionId": "{transaction}", "subscriberIds": SUB}),
    "GET /v1/notifications/{notification_id}": ("-", {}),
    "GET /v1/subscribers": ("-", {}),
    "POST /v1/subscribers": ({"subscriberId": "b-own"}, {}),
    "POST /v1/subscribers/bulk": ({"subscribers": [{"subscriberId": "b-bulk"}]}, {}),
    "DELETE /v1/subscribers/{subscriber_id}": ("-", {}),
    "GET /v1/subscribers/{subscriber_id}": ("-", {}),
    "PUT /v1/subscribers/{subscriber_id}": ({"firstName": "stolen"}, {}),
    "PATCH /v1/subscribers/{subscriber_id}/credentials": (
        {"providerId": "slack", "credentials": {"webhookUrl": "https://b.example/x"}},
        {},
    ),
    "PUT /v1/subscribers/{subscriber_id}/credentials": (
        {"providerId": "slack", "credentials": {"webhookUrl": "https://b.example/x"}},
        {},
    ),
    "DELETE /v1/subscribers/{subscriber_id}/credentials/{provider_id}": ("-", {}),
    "GET /v1/subscribers/{subscriber_id}/credentials/{provider_id}/oauth": (
        "-",
        {"environmentId": "{env}", "hmacHash": "{b_hash}"},
    ),
    "GET /v1/subscribers/{subscriber_id}/credentials/{provider_id}/oauth/callback": (
        "-",
        {"environmentId": "{env}", "code": "x", "state": "x"},
    ),
    "POST /v1/subscribers/{subscriber_id}/messages/mark-all": ({"markAs": "read"}, {}),
    "POST /v1/subscribers/{subscriber_id}/messages/mark-as": (
        {"messageId": "{message}", "markAs": "read"},
        {},
    ),
    "POST /v1/subscribers/{subscriber_id}/messages/markAs": (
        {"messageId": "{message}", "mark": {"seen": True, "read": True}},
        {},
    ),
    "POST /v1/subscribers/{subscriber_id}/messages/{message_id}/actions/{button}": ({"status": "done"}, {}),
    "GET /v1/subscribers/{subscriber_id}/notifications/feed": ("-", {}),
    "GET /v1/subscribers/{subscriber_id}/notifications/unseen": ("-", {}),
    "PATCH /v1/subscribers/{subscriber_id}/online-status": ({"isOnline": True}, {}),
    "GET /v1/subscribers/{subscriber_id}/preferences": ("-", {}),
    "PATCH /v1/subscribers/{subscriber_id}/preferences": ({"enabled": False}, {}),
    "GET /v1/subscribers/{subscriber_id}/preferences/{level}": ("-", {}),
    "PATCH /v1/subscribers/{subscriber_id}/preferences/{workflow_id}": ({"enabled": False}, {}),
    "GET /v1/tenants": ("-", {}),
    "POST /v1/tenants": ({"identifier": "b-tenant", "name": "b"}, {}),
    "DELETE /v1/tenants/{identifier}": ("-", {}),
    "GET /v1/tenants/{identifier}": ("-", {}),
    "PATCH /v1/tenants/{identifier}": ({"name": "stolen"}, {}),
    "GET /v1/topics": ("-", {}),
    "POST /v1/topics": ({"key": "b-topic", "name": "b"}, {}),
    "DELETE /v1/topics/{topic_key}": ("-", {}),
    "GET /v1/topics/{topic_key}": ("-", {}),
    "PATCH /v1/topics/{topic_key}": ({"name": "stolen"}, {}),
    "POST /v1/topics/{topic_key}/subscribers": ({"subscribers": [SUB]}, {}),
    "POST /v1/topics/{topic_key}/subscribers/removal": ({"subscribers": [SUB]}, {}),
    "GET /v1/topics/{topic_key}/subscribers/{subscriber_id}": ("-", {}),
    "GET /v1/workflow-overrides": ("-", {}),
    "POST /v1/workflow-overrides": ({"workflowId": "{workflow}", "tenantId": "{tenant_row}"}, {}),
    "GET /v1/workflow-overrides/workflows/{workflow_id}/tenants/{tenant_id}": ("-", {}),
    "PUT /v1/workflow-overrides/workflows/{workflow_id}/tenants/{tenant_id}": ({"active": False}, {}),
    "DELETE /v1/workflow-overrides/{override_id}": ("-", {}),
    "GET /v1/workflow-overrides/{override_id}": ("-", {}),
    "PUT /v1/workflow-overrides/{override_id}": ({"active": False}, {}),
    "GET /v1/workflows": ("-", {}),
    "POST /v1/workflows": ({"name": "b-wf2", "notificationGroupId": "{group}", "steps": []}, {}),
    "GET /v1/workflows/variables": ("-", {}),
    "DELETE /v1/workflows/{workflow_id}": ("-", {}),
    "GET /v1/workflows/{workflow_id}": ("-", {}),
    "PUT /v1/workflows/{workflow_id}": ({"name": "stolen"}, {}),
    "PUT /v1/workflows/{workflow_id}/status": ({"active": False}, {}),
    # The Inbox takes subscriber tokens, not API keys: B's key is refused (another subscriber's token is
    # tested in tests/integration/test_inbox_security.py).
    "GET /v1/inbox/notifications": ("-", {}),
    "POST /v1/inbox/notifications/archive": ({"notificationIds": ["{notification}"]}, {}),
    "GET /v1/inbox/notifications/count": ("-", {}),
    "POST /v1/inbox/notifications/delete": ({"notificationIds": ["{notification}"]}, {}),
    "POST /v1/inbox/notifications/read": ({"notificationIds": ["{notification}"]}, {}),
    "POST /v1/inbox/notifications/read-archive": ({"notificationIds": ["{notification}"]}, {}),
    "POST /v1/inbox/notifications/seen": ({"notificationIds": ["{notification}"]}, {}),
    "PATCH /v1/inbox/notifications/{notification_id}/archive": ("-", {}),
    "PATCH /v1/inbox/notifications/{notification_id}/complete": ("-", {}),
    "DELETE /v1/inbox/notifications/{notification_id}/delete": ("-", {}),
    "PATCH /v1/inbox/notifications/{notification_id}/read": ("-", {}),
    "PATCH /v1/inbox/notifications/{notification_id}/revert": ("-", {}),
    "PATCH /v1/inbox/notifications/{notification_id}/snooze": ({"snoozeUntil": "2030-01-01T00:00:00Z"}, {}),
    "PATCH /v1/inbox/notifications/{notification_id}/unarchive": ("-", {}),
    "PATCH /v1/inbox/notifications/{notification_id}/unread": ("-", {}),
    "PATCH /v1/inbox/notifications/{notification_id}/unsnooze": ("-", {}),
    "GET /v1/inbox/preferences": ("-", {}),
    "PATCH /v1/inbox/preferences": ({"channels": {"email": False}}, {}),
    "PATCH /v1/inbox/preferences/bulk": ({"channels": {"email": False}}, {}),
    "GET /v1/inbox/preferences/global": ("-", {}),
    "GET /v1/inbox/web-push": ("-", {}),
    "POST /v1/inbox/web-push/subscriptions": ({"endpoint": "https://push.example/x", "keys": {}}, {}),
    "POST /v1/inbox/web-push/subscriptions/remove": ({"endpoint": "https://push.example/x"}, {}),
    "PATCH /v1/inbox/preferences/{workflow_id}": ({"channels": {"email": False}}, {}),
    "GET /v1/integrations/webhook/provider/{provider_or_integration_id}/status": ("-", {}),
    "GET /v1/notifications/graph/stats": ("-", {}),
    "GET /v1/notifications/stats": ("-", {}),
    "PATCH /v2/subscribers/{subscriber_id}/notifications/{notification_id}/actions/{action_type}/complete": (
        "-",
        {},
    ),
    "PATCH /v2/subscribers/{subscriber_id}/notifications/{notification_id}/actions/{action_type}/revert": (
        "-",
        {},
    ),
    "PATCH /v2/subscribers/{subscriber_id}/notifications/{notification_id}/snooze": (
        {"snoozeUntil": "2030-01-01T00:00:00Z"},
        {},
    ),
    "PATCH /v2/subscribers/{subscriber_id}/notifications/{notification_id}/unsnooze": ("-", {}),
    "GET /v1/schedules": ("-", {}),
    "POST /v1/schedules": (
        {"workflowId": "{trigger}", "to": [SUB], "repeat": {"cron": "0 9 * * MON"}, "payload": {}},
        {},
    ),
    "DELETE /v1/schedules/{schedule_id}": ("-", {}),
    "GET /v1/schedules/{schedule_id}": ("-", {}),
    "PATCH /v1/schedules/{schedule_id}": ({"payload": {"stolen": True}}, {}),
    "POST /v1/schedules/{schedule_id}/pause": ("-", {}),
    "POST /v1/schedules/{schedule_id}/trigger": ("-", {}),
    "POST /v1/schedules/{schedule_id}/unpause": ("-", {}),
    "GET /v1/subscribers/{subscriber_id}/schedule": ("-", {}),
    "PUT /v1/subscribers/{subscriber_id}/schedule": ({"isEnabled": True, "weeklySchedule": {}}, {}),
    "GET /v1/webhooks": ("-", {}),
    "POST /v1/webhooks": ({"url": "https://b.example/hook"}, {}),
    "DELETE /v1/webhooks/{endpoint_id}": ("-", {}),
    "GET /v1/webhooks/{endpoint_id}": ("-", {}),
    "PATCH /v1/webhooks/{endpoint_id}": ({"url": "https://b.example/stolen"}, {}),
    "GET /v1/webhooks/{endpoint_id}/deliveries": ("-", {}),
    "POST /v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend": ("-", {}),
    "GET /v1/webhooks/{endpoint_id}/secret": ("-", {}),
    "GET /v2/subscribers": ("-", {"subscriberId": SUB}),
    "POST /v2/subscribers": ({"subscriberId": "b-v2"}, {}),
    "DELETE /v2/subscribers/{subscriber_id}": ("-", {}),
    "GET /v2/subscribers/{subscriber_id}": ("-", {}),
    "PATCH /v2/subscribers/{subscriber_id}": ({"firstName": "stolen"}, {}),
    "GET /v2/subscribers/{subscriber_id}/notifications": ("-", {}),
    "POST /v2/subscribers/{subscriber_id}/notifications/archive": ("-", {}),
    "GET /v2/subscribers/{subscriber_id}/notifications/count": ("-", {"filters": "[{}]"}),
    "POST /v2/subscribers/{subscriber_id}/notifications/delete": ("-", {}),
    "POST /v2/subscribers/{subscriber_id}/notifications/read": ("-", {}),
    "POST /v2/subscribers/{subscriber_id}/notifications/read-archive": ("-", {}),
    "POST /v2/subscribers/{subscriber_id}/notifications/seen": ({"notificationIds": ["{notification}"]}, {}),
    "DELETE /v2/subscribers/{subscriber_id}/notifications/{notification_id}": ("-", {}),
    "PATCH /v2/subscribers/{subscriber_id}/notifications/{notification_id}/archive": ("-", {}),
    "PATCH /v2/subscribers/{subscriber_id}/notifications/{notification_id}/read": ("-", {}),
    "PATCH /v2/subscribers/{subscriber_id}/notifications/{notification_id}/unarchive": ("-", {}),
    "PATCH /v2/subscribers/{subscriber_id}/notifications/{notification_id}/unread": ("-", {}),
    "GET /v2/subscribers/{subscriber_id}/preferences": ("-", {}),
    "PATCH /v2/subscribers/{subscriber_id}/preferences": ({"channels": {"email": False}}, {}),
    "PATCH /v2/subscribers/{subscriber_id}/preferences/bulk": (
        {"preferences": [{"workflowId": "{trigger}", "channels": {"email": False}}]},
        {},
    ),
    "GET /v2/subscribers/{subscriber_id}/subscriptions": ("-", {}),
    "GET /v2/topics": ("-", {}),
    "POST /v2/topics": ({"key": "b-topic-v2", "name": "b"}, {}),
    "DELETE /v2/topics/{topic_key}": ("-", {}),
    "GET /v2/topics/{topic_key}": ("-", {}),
    "PATCH /v2/topics/{topic_key}": ({"name": "stolen"}, {}),
    "DELETE /v2/topics/{topic_key}/subscriptions": ({"subscriptions": [SUB]}, {}),
    "GET /v2/topics/{topic_key}/subscriptions": ("-", {}),
    "POST /v2/topics/{topic_key}/subscriptions": ({"subscriptions": [SUB]}, {}),
    "GET /v2/topics/{topic_key}/subscriptions/{identifier}": ("-", {}),
    "PATCH /v2/topics/{topic_key}/subscriptions/{identifier}": ({"name": "stolen"}, {}),
    "POST /v2/translations": (
        {
            "resourceId": "{trigger}",
            "resourceType": "workflow",
            "locale": "fr_FR",
            "content": {"x": "stolen"},
        },
        {},
    ),
    "GET /v2/translations/group/{resource_type}/{resource_id}": ("-", {}),
    "GET /v2/translations/master-json": ("-", {"locale": "fr_FR"}),
    "POST /v2/translations/master-json": (
        {"locale": "fr_FR", "masterJson": {"workflows": {"{trigger}": {"x": "stolen"}}}},
        {},
    ),
    "POST /v2/translations/master-json/upload": ("-", {}),
    "POST /v2/translations/upload": ("-", {}),
    "DELETE /v2/translations/{resource_type}/{resource_id}": ("-", {}),
    "DELETE /v2/translations/{resource_type}/{resource_id}/{locale}": ("-", {}),
    "GET /v2/translations/{resource_type}/{resource_id}/{locale}": ("-", {}),
}

#: Tables whose rows belong to one environment (compared before and after the walk).
ENV_TABLES = [
    "integrations", "layouts", "digest_events", "notifications", "messages", "execution_details", "feeds",
    "subscribers", "subscriber_preferences", "topics", "topic_subscribers", "api_keys", "tenants",
    "notification_groups", "workflow_definitions", "workflow_overrides", "recurring_schedules", "translations",
    "webhook_endpoints",
]  # fmt: skip


def app_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every API route, through included routers."""
    found: set[tuple[str, str]] = set()

    def walk(routes: Any, prefix: str) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.update((m, prefix + route.path) for m in route.methods)
            elif hasattr(route, "original_router"):  # FastAPI's included router
                context = getattr(route, "include_context", None)
                walk(route.original_router.routes, prefix + (getattr(context, "prefix", "") or ""))

    walk(app.routes, "")
    return sorted(found, key=lambda mp: (mp[1], mp[0] != "DELETE", mp[0]))


def fill(value: Any, a: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: a.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [fill(v, a) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, a) for k, v in value.items()}
    return value


async def snapshot(env: Env) -> dict[str, list[str]]:
    out = {}
    for table in ENV_TABLES:
        rows = await env.sql(f"select * from {table} where environment_id = :e order by id", e=env.id)
        out[table] = [json.dumps(list(r), default=str) for r in rows]
    return out


async def victim(stack: Stack) -> tuple[Env, dict[str, str]]:
    """Environment A with one of everything; returns its values (ids are the markers B must not see)."""
    a = await stack.new_env()
    tag = secrets.token_hex(4)
    content = f"a-secret-{tag}"
    trigger = f"iso-wf-{tag}"
    sub = f"iso-sub-{tag}"
    workflow = await define(a, trigger, [in_app("hello", content)])
    await a.http.post("/v1/tenants", json={"identifier": f"iso-tenant-{tag}", "name": "A tenant"})
    topic = f"iso-topic-{tag}"
    await a.http.post("/v1/topics", json={"key": topic, "name": "A topic"})
    assert (
        await a.http.post(f"/v1/topics/{topic}/subscribers", json={"subscribers": [sub]})
    ).status_code in (
        200,
        201,
    )
    integration = (
        await a.http.post(
            "/v1/integrations",
            json={"providerId": "slack", "channel": "chat", "credentials": {"clientId": f"cid-{tag}"}},
        )
    ).json()["data"]
    layout = (
        await a.http.post(
            "/v1/layouts", json={"name": "A", "identifier": f"a-layout-{tag}", "content": "{{{body}}}"}
        )
    ).json()["data"]
    feed = (await a.http.post("/v1/feeds", json={"name": f"a-feed-{tag}"})).json()["data"]
    group = (await a.http.post("/v1/notification-groups", json={"name": f"a-group-{tag}"})).json()["data"]
    await a.http.put(
        f"/v1/subscribers/{sub}/credentials",
        json={"providerId": "slack", "credentials": {"webhookUrl": f"https://a.example/{tag}"}},
    )
    tx = f"iso-tx-{tag}"
    assert (await a.trigger(trigger, sub, {}, transactionId=tx)).status_code == 201
    await a.settle(tx)
    ((message, notification),) = await a.sql(
        "select id, notification_id from messages where environment_id = :e and transaction_id = :t",
        e=a.id,
        t=tx,
    )
    ((tenant_row,),) = await a.sql("select id from tenants where environment_id = :e", e=a.id)
    override = (
        await a.http.post("/v1/workflow-overrides", json={"workflowId": workflow, "tenantId": tenant_row})
    ).json()["data"]
    ((sub_row,),) = await a.sql(
        "select id from subscribers where environment_id = :e and subscriber_id = :s", e=a.id, s=sub
    )
    schedule = (
        await a.http.post(
            "/v1/schedules",
            json={"workflowId": trigger, "to": [sub], "repeat": {"cron": "0 9 * * MON"}, "payload": {}},
        )
    ).json()["data"]
    endpoint = (await a.http.post("/v1/webhooks", json={"url": f"https://a.example/hook-{tag}"})).json()[
        "data"
    ]
    translated = await a.http.post(
        "/v2/translations",
        json={
            "resourceId": trigger,
            "resourceType": "workflow",
            "locale": "fr_FR",
            "content": {"x": content},
        },
    )
    assert translated.status_code == 200, translated.text
    values = {
        "env": a.id,
        "key": a.key,
        "content": content,
        "trigger": trigger,
        "subscriber": sub,
        "subscriber_row": sub_row,
        "workflow": workflow,
        "tenant": f"iso-tenant-{tag}",
        "tenant_row": tenant_row,
        "topic": topic,
        "integration": integration["_id"],
        "layout": layout["_id"],
        "feed": feed["_id"],
        "group": group["_id"],
        "transaction": tx,
        "message": message,
        "notification": notification,
        "override": override["_id"],
        "webhook": f"https://a.example/{tag}",
        "schedule": schedule["_id"],
        "endpoint": endpoint["_id"],
        "endpoint_secret": endpoint["secret"],
    }
    return a, values


PATH_VALUES = {
    "subscriber_id": "subscriber",
    "topic_key": "topic",
    "integration_id": "integration",
    "layout_id": "layout",
    "group_id": "group",
    "workflow_id": "workflow",
    "notification_id": "notification",
    "message_id": "message",
    "transaction_id": "transaction",
    "feed_id": "feed",
    "override_id": "override",
    "identifier": "tenant",
    "tenant_id": "tenant_row",
    "schedule_id": "schedule",
    "endpoint_id": "endpoint",
    "resource_id": "trigger",
}
CONSTANTS = {
    "provider_id": "slack",
    "provider_or_integration_id": "slack",
    "action_type": "primary",
    "level": "global",
    "button": "primary",
    "delivery_id": "1",
    "resource_type": "workflow",
    "locale": "fr_FR",
}

#: A's values that are A's alone (random ids and secrets): none may appear in any answer to B.
MARKERS = (
    "env", "key", "content", "subscriber_row", "workflow", "tenant_row", "integration", "layout", "feed",
    "group", "message", "notification", "override", "webhook", "schedule", "endpoint", "endpoint_secret",
)  # fmt: skip


async def test_every_route_keeps_environments_apart(stack: Stack) -> None:
    a, values = await victim(stack)
    b = await stack.new_env()
    values["b_hash"] = subscriber_hash(b.key, values["subscriber"])
    routes = app_routes(stack.app)
    missing = [f"{m} {p}" for m, p in routes if f"{m} {p}" not in CALLS and f"{m} {p}" not in PUBLIC]
    assert not missing, f"add these routes to CALLS in tests/integration/test_isolation.py: {missing}"
    before = await snapshot(a)
    seen_ok: list[str] = []
    for method, path in routes:
        name = f"{method} {path}"
        if name in PUBLIC:
            continue
        body, query = CALLS[name]
        params = set(re.findall(r"\{(\w+)\}", path))
        url = path
        for param in params:
            value = values[PATH_VALUES[param]] if param in PATH_VALUES else CONSTANTS[param]
            url = url.replace("{" + param + "}", value)
        kwargs: dict[str, Any] = {"params": fill(query, values)}
        if body != "-":
            kwargs["json"] = fill(body, values)
        resp = await b.http.request(method, url, **kwargs)
        assert resp.status_code < 500, (name, resp.status_code, resp.text)
        sent = url + json.dumps(kwargs)  # echoing what B itself sent (an id in a 404) is no leak
        leaked = [m for m in MARKERS if values[m] in resp.text and values[m] not in sent]
        assert not leaked, (name, leaked, resp.text[:500])
        if params & A_ONLY and name not in NOT_FOUND_IS_OK:
            assert 400 <= resp.status_code < 500, (name, resp.status_code, resp.text[:300])
        if resp.status_code < 300:
            seen_ok.append(name)
    after = await snapshot(a)
    changed = [t for t in ENV_TABLES if before[t] != after[t]]
    assert not changed, f"environment A changed through B's key: {changed}"
    assert before["messages"] and before["subscribers"] and before["integrations"]  # A had data to steal
    # A itself still sees everything (the walk did not just break the routes).
    assert (await a.http.get(f"/v1/subscribers/{values['subscriber']}")).status_code == 200
    assert (await a.http.get(f"/v1/notifications/{values['notification']}")).status_code == 200
    assert len(seen_ok) > 20  # B's own list/create routes answered normally
