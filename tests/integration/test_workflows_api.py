"""REST workflows (/v1/workflows and /v1/notification-templates), notification groups, tenants, overrides."""

from __future__ import annotations

from typing import Any

from tests.support import Env


def workflow_body(name: str = "Comment on post", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "notificationGroup": {"name": "General"},
        "steps": [
            {
                "template": {
                    "type": "in_app",
                    "content": "{{author.name}} said {{comment}} to {{subscriber.firstName}} at {{tenant.name}}",
                }
            },
            {"template": {"type": "email", "subject": "{{#each items}}{{this.x}}{{/each}}", "content": "x"}},
        ],
        **extra,
    }


async def test_create_get_list_update_delete(env: Env) -> None:
    groups = (await env.http.get("/v1/notification-groups")).json()["data"]
    general = next(g for g in groups if g["name"] == "General")
    resp = await env.http.post(
        "/v1/workflows", json={**workflow_body(), "notificationGroupId": general["_id"]}
    )
    assert resp.status_code == 201, resp.text
    wf = resp.json()["data"]
    assert wf["name"] == "Comment on post" and wf["active"] is False and wf["draft"] is True
    assert wf["origin"] == "rest" and wf["critical"] is False
    assert wf["_notificationGroupId"] == general["_id"] and wf["notificationGroup"]["name"] == "General"
    assert wf["preferenceSettings"] == {
        "email": True,
        "sms": True,
        "in_app": True,
        "chat": True,
        "push": True,
    }
    trigger = wf["triggers"][0]
    assert trigger["identifier"] == "comment-on-post" and trigger["type"] == "event"
    assert trigger["variables"] == [
        {"name": "author.name", "type": "String"},
        {"name": "comment", "type": "String"},
        {"name": "items", "type": "String"},
    ]
    assert trigger["reservedVariables"] == [{"type": "tenant", "variables": [{"name": "name"}]}]
    assert trigger["subscriberVariables"] == [{"name": "firstName"}]
    step = wf["steps"][0]
    assert len(step["_id"]) == 24 and step["uuid"] and step["_templateId"] == step["template"]["_id"]
    assert step["active"] is True and step["shouldStopOnFail"] is False and step["filters"] == []

    second = (await env.http.post("/v1/workflows", json=workflow_body())).json()["data"]
    assert second["triggers"][0]["identifier"].startswith("comment-on-post-")

    by_id = await env.http.get(f"/v1/workflows/{wf['_id']}")
    by_identifier = await env.http.get("/v1/notification-templates/comment-on-post")
    assert by_id.json()["data"]["_id"] == by_identifier.json()["data"]["_id"] == wf["_id"]
    missing = await env.http.get("/v1/workflows/nope")
    assert missing.status_code == 404 and missing.json()["message"] == "Template with id nope not found"

    listing = (await env.http.get("/v1/workflows", params={"limit": "10.0", "query": "ON-POST"})).json()
    assert listing["totalCount"] == 2 and listing["pageSize"] == 10 and listing["page"] == 0
    assert [w["_id"] for w in listing["data"]] == [second["_id"], wf["_id"]]
    everything = (await env.http.get("/v1/workflows", params={"limit": 1, "page": 1})).json()
    assert everything["totalCount"] == 4 and len(everything["data"]) == 1  # + the catalog's two
    over = await env.http.get("/v1/workflows", params={"limit": 101})
    assert over.status_code == 400 and over.json()["message"] == ["limit must not be greater than 100"]

    put = await env.http.put(
        f"/v1/workflows/{wf['_id']}",
        json={
            "name": "Renamed",
            "tags": ["t"],
            "steps": [{"template": {"type": "sms", "content": "{{code}}"}}],
        },
    )
    assert put.status_code == 200, put.text
    updated = put.json()["data"]
    assert updated["name"] == "Renamed" and updated["tags"] == ["t"]
    assert updated["triggers"][0]["identifier"] == "comment-on-post"
    assert updated["triggers"][0]["variables"] == [{"name": "code", "type": "String"}]

    status = await env.http.put(f"/v1/workflows/{wf['_id']}/status", json={"active": True})
    assert status.status_code == 200 and status.json()["data"]["active"] is True
    same = await env.http.put(f"/v1/workflows/{wf['_id']}/status", json={"active": True})
    assert same.status_code == 400
    assert same.json()["message"] == "You must provide a different status from the current status"

    deleted = await env.http.delete(f"/v1/notification-templates/{wf['_id']}")
    assert deleted.status_code == 200 and deleted.json() == {"data": True}
    assert (await env.http.get(f"/v1/workflows/{wf['_id']}")).status_code == 404
    gone = await env.trigger("comment-on-post", "sub", {})
    assert gone.status_code == 422 and gone.json()["message"] == "workflow_not_found"


async def test_validation_and_snake_case_steps(env: Env) -> None:
    no_name = await env.http.post("/v1/workflows", json={"notificationGroup": {"name": "G"}, "steps": []})
    assert no_name.status_code == 400
    assert no_name.json()["message"] == ["name should not be null or undefined", "name must be a string"]
    no_group = await env.http.post("/v1/workflows", json={"name": "x", "steps": []})
    assert no_group.status_code == 400 and no_group.json()["message"] == [
        "Notification group must be provided "
    ]
    bad_group = await env.http.post("/v1/workflows", json={"name": "x", "notificationGroupId": "f" * 24})
    assert bad_group.status_code == 404

    snake = {
        "name": "Snake",
        "notification_group": {"name": "General"},
        "steps": [
            {
                "should_stop_on_fail": True,
                "template": {
                    "type": "in_app",
                    "content": "hi",
                    "variables": [{"name": "a", "default_value": 1}],
                },
            }
        ],
    }
    resp = await env.http.post("/v1/notification-templates", json=snake)
    assert resp.status_code == 201, resp.text
    step = resp.json()["data"]["steps"][0]
    assert step["shouldStopOnFail"] is True
    assert step["template"]["variables"] == [{"name": "a", "defaultValue": 1}]


async def test_code_workflows_are_listed_but_not_editable(env: Env) -> None:
    listing = (await env.http.get("/v1/workflows", params={"query": "welcome"})).json()
    welcome = listing["data"][0]
    assert welcome["origin"] == "code" and welcome["triggers"][0]["identifier"] == "welcome"
    assert [s["template"]["type"] for s in welcome["steps"]] == ["in_app", "email"]
    for method, path, body in (
        ("PUT", "/v1/workflows/welcome", {"name": "x"}),
        ("PUT", f"/v1/workflows/{welcome['_id']}/status", {"active": False}),
        ("DELETE", "/v1/workflows/welcome", None),
    ):
        resp = await env.http.request(method, path, json=body)
        assert resp.status_code == 400, (method, path, resp.text)
        assert "is defined in code and can not be changed over the REST API" in resp.json()["message"]


async def test_variables_endpoint(env: Env) -> None:
    data = (await env.http.get("/v1/workflows/variables")).json()["data"]
    assert "firstName" in data["system"]["subscriber"] and data["translations"] == []


async def test_notification_groups_crud(env: Env) -> None:
    created = await env.http.post("/v1/notification-groups", json={"name": "Billing"})
    assert created.status_code == 201
    group = created.json()["data"]
    assert group["name"] == "Billing" and group["_environmentId"] == env.id
    again = await env.http.post("/v1/notification-groups", json={"name": "Billing"})
    assert again.json()["data"]["_id"] == group["_id"]
    renamed = await env.http.patch(f"/v1/notification-groups/{group['_id']}", json={"name": "Invoices"})
    assert renamed.json()["data"]["name"] == "Invoices"
    assert (await env.http.get(f"/v1/notification-groups/{group['_id']}")).json()["data"][
        "name"
    ] == "Invoices"
    used = await env.http.post(
        "/v1/workflows", json={**workflow_body("In group"), "notificationGroupId": group["_id"]}
    )
    assert used.status_code == 201
    assert (await env.http.delete(f"/v1/notification-groups/{group['_id']}")).status_code == 409
    await env.http.delete(f"/v1/workflows/{used.json()['data']['_id']}")
    deleted = await env.http.delete(f"/v1/notification-groups/{group['_id']}")
    assert deleted.json() == {"data": {"acknowledged": True, "status": "deleted"}}
    missing = await env.http.get(f"/v1/notification-groups/{group['_id']}")
    assert missing.status_code == 404


async def test_tenants_crud(env: Env) -> None:
    created = await env.http.post(
        "/v1/tenants", json={"identifier": "acme", "name": "Acme", "data": {"plan": "pro"}}
    )
    assert created.status_code == 201
    tenant = created.json()["data"]
    assert tenant["identifier"] == "acme" and tenant["data"] == {"plan": "pro"} and tenant["_id"]
    dup = await env.http.post("/v1/tenants", json={"identifier": "acme", "name": "Other"})
    assert dup.status_code == 409
    assert dup.json()["message"] == f"Tenant with identifier: acme already exists under environment {env.id}"
    invalid = await env.http.post("/v1/tenants", json={"identifier": "x"})
    assert invalid.status_code == 400 and "name should not be null or undefined" in invalid.json()["message"]
    await env.http.post("/v1/tenants", json={"identifier": "globex", "name": "Globex"})
    page = (await env.http.get("/v1/tenants", params={"limit": 1})).json()
    assert page["pageSize"] == 1 and page["hasMore"] is True and page["data"][0]["identifier"] == "globex"
    patched = await env.http.patch("/v1/tenants/acme", json={"name": "Acme Inc", "identifier": "acme-inc"})
    assert patched.json()["data"]["name"] == "Acme Inc" and patched.json()["data"]["identifier"] == "acme-inc"
    taken = await env.http.patch("/v1/tenants/acme-inc", json={"identifier": "globex"})
    assert taken.status_code == 409
    missing = await env.http.get("/v1/tenants/acme")
    assert missing.status_code == 404
    assert (
        missing.json()["message"] == f"Tenant with identifier: acme does not exist under environment {env.id}"
    )
    assert (await env.http.delete("/v1/tenants/acme-inc")).status_code == 204
    assert (await env.http.get("/v1/tenants/acme-inc")).status_code == 404

    other = await env.stack.new_env()
    assert (await other.http.get("/v1/tenants/globex")).status_code == 404
    assert (await other.http.get("/v1/tenants")).json()["data"] == []


async def test_workflow_overrides_crud(env: Env) -> None:
    await env.http.post("/v1/tenants", json={"identifier": "acme", "name": "Acme"})
    tenant = (await env.http.get("/v1/tenants/acme")).json()["data"]
    wf = (await env.http.post("/v1/workflows", json={**workflow_body(), "active": True})).json()["data"]
    created = await env.http.post(
        "/v1/workflow-overrides", json={"workflowId": wf["_id"], "tenantId": tenant["_id"], "active": False}
    )
    assert created.status_code == 201, created.text
    override = created.json()["data"]
    assert override["_workflowId"] == wf["_id"] and override["_tenantId"] == tenant["_id"]
    assert override["active"] is False
    dup = await env.http.post("/v1/workflow-overrides", json={"workflowId": wf["_id"], "tenantId": "acme"})
    assert dup.status_code == 409
    by_pair = await env.http.get(f"/v1/workflow-overrides/workflows/{wf['_id']}/tenants/{tenant['_id']}")
    assert by_pair.json()["data"]["_id"] == override["_id"]
    put = await env.http.put(
        f"/v1/workflow-overrides/{override['_id']}", json={"preferenceSettings": {"email": False}}
    )
    assert (
        put.json()["data"]["preferenceSettings"] == {"email": False} and put.json()["data"]["active"] is False
    )
    put_pair = await env.http.put(
        f"/v1/workflow-overrides/workflows/{wf['_id']}/tenants/{tenant['_id']}", json={"active": True}
    )
    assert put_pair.json()["data"]["active"] is True
    listing = (await env.http.get("/v1/workflow-overrides")).json()
    assert listing["hasMore"] is False and [o["_id"] for o in listing["data"]] == [override["_id"]]
    assert (await env.http.get(f"/v1/workflow-overrides/{override['_id']}")).status_code == 200
    assert (await env.http.delete(f"/v1/workflow-overrides/{override['_id']}")).json() == {"data": True}
    assert (await env.http.get(f"/v1/workflow-overrides/{override['_id']}")).status_code == 404
    unknown = await env.http.post(
        "/v1/workflow-overrides", json={"workflowId": wf["_id"], "tenantId": "nope"}
    )
    assert unknown.status_code == 404
