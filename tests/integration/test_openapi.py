"""The OpenAPI document and the API docs pages: the ApiKey scheme, declared response shapes, no CDN."""

from __future__ import annotations

from typing import Any

from tests.support import Env


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def test_openapi_declares_the_api_key_scheme_and_response_shapes(env: Env) -> None:
    spec = (await env.http.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`ApiKey <your API key>` (the environment's secret key)",
    }
    trigger = spec["paths"]["/v1/events/trigger"]["post"]
    assert trigger["security"] == [{"ApiKey": []}]
    envelope = resolve(spec, trigger["responses"]["201"]["content"]["application/json"]["schema"])
    answer = resolve(spec, envelope["properties"]["data"])
    assert {"acknowledged", "status", "transactionId"} <= set(answer["properties"])
    listing = spec["paths"]["/v1/feeds"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    feed = resolve(spec, resolve(spec, listing)["properties"]["data"]["items"])
    assert list(feed["properties"]) == [
        "_id",
        "name",
        "identifier",
        "_environmentId",
        "_organizationId",
        "createdAt",
    ]


async def test_declared_shapes_are_what_the_routes_answer(env: Env) -> None:
    created = await env.http.post("/v1/feeds", json={"name": "Billing"})
    assert created.status_code == 201, created.text
    feed = created.json()["data"]
    assert list(feed) == ["_id", "name", "identifier", "_environmentId", "_organizationId", "createdAt"]
    assert feed["name"] == feed["identifier"] == "Billing" and feed["_environmentId"] == env.id
    listed = (await env.http.get("/v1/feeds")).json()["data"]
    assert [f["_id"] for f in listed] == [feed["_id"]]
    # An answer without a transactionId has no such key at all (not null), as in Novu.
    refused = await env.trigger("welcome", "sub-1", {"name": "Ada"}, tenant="ghost")
    assert refused.json() == {"data": {"acknowledged": True, "status": "no_tenant_found"}}
    accepted = await env.trigger("welcome", "sub-1", {"name": "Ada"}, transactionId="oa-1")
    assert accepted.json() == {"data": {"acknowledged": True, "status": "processed", "transactionId": "oa-1"}}
    await env.settle("oa-1")


async def test_docs_pages_load_their_assets_from_the_api_itself(env: Env) -> None:
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = (await env.http.get(page)).text
        assert f'src="/docs/assets/{asset}"' in html
        assert "cdn." not in html and "https://" not in html.split("<body", 1)[-1].split("</script>")[0]
        served = await env.http.get(f"/docs/assets/{asset}")
        assert served.status_code == 200 and len(served.content) > 100_000
    css = await env.http.get("/docs/assets/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
