"""Translations: Novu's /v2/translations API driven by novu-py, and ``{{ t.key }}`` rendered per subscriber
locale with fallbacks, plurals (babel) and missing keys reported."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from novu_py import Novu, models
from novu_py.utils import BackoffStrategy, RetryConfig

from activities.render import Renderer
from activities.translations import Translator
from tests.fakes.fixtures import add_workflow, details
from tests.support import Env, Stack

FR = {
    "greeting": "Bonjour {{ subscriber.firstName }}",
    "cart": {"items": {"one": "{{count}} article", "other": "{{count}} articles"}},
    "only_fr": "seulement en français",
}
EN = {
    "greeting": "Hello {{ subscriber.firstName }}",
    "cart": {"items": {"one": "{{count}} item", "other": "{{count}} items"}},
    "footer": "Sent by Acme",
}


def render(translator: Translator, source: str, locale: str | None, **context: Any) -> tuple[str, list[str]]:
    missing: set[str] = set()
    text = translator.apply(source, locale, missing)
    return Renderer().render(text, context, escape=False), sorted(missing)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr_FR", "Bonjour Ada · 0 article · 2 articles · Sent by Acme"),  # fr: 0 is "one"
        ("fr_CA", "Bonjour Ada · 0 article · 2 articles · Sent by Acme"),  # fr_CA → fr_FR
        ("fr-ca", "Bonjour Ada · 0 article · 2 articles · Sent by Acme"),
        ("en_US", "Hello Ada · 0 items · 2 items · Sent by Acme"),  # en: 0 is "other"
        ("de_DE", "Hello Ada · 0 items · 2 items · Sent by Acme"),  # unknown → default locale
        (None, "Hello Ada · 0 items · 2 items · Sent by Acme"),
    ],
)
def test_fallback_chain_and_plural_rules(locale: str | None, expected: str) -> None:
    translator = Translator({"fr_FR": FR, "en_US": EN}, default_locale="en_US")
    jinja = "{{ t.greeting }} · {{ t.cart.items | plural(zero) }} · {{ t.cart.items | plural(n) }} · {{ t.footer }}"
    text, missing = render(translator, jinja, locale, subscriber={"firstName": "Ada"}, zero=0, n=2)
    assert (text, missing) == (expected, [])
    handlebars = (
        "{{t.greeting}} · {{plural t.cart.items zero}} · {{plural t.cart.items n}} · {{t.footer}}"
        "{{#if subscriber.firstName}}{{/if}}"
    )
    text, missing = render(translator, handlebars, locale, subscriber={"firstName": "Ada"}, zero=0, n=2)
    assert (text, missing) == (expected, [])


def test_languages_with_more_plural_forms() -> None:
    ru = {
        "files": {"one": "{{count}} файл", "few": "{{count}} файла", "many": "{{count}} файлов", "other": "?"}
    }
    translator = Translator({"ru_RU": ru})
    texts = [render(translator, "{{ t.files | plural(n) }}", "ru_RU", n=n)[0] for n in (1, 3, 5, 21, 22)]
    assert texts == ["1 файл", "3 файла", "5 файлов", "21 файл", "22 файла"]


def test_a_missing_key_is_reported_and_shown_as_its_path_not_blank() -> None:
    translator = Translator({"en_US": EN})
    text, missing = render(translator, "{{ t.nowhere.to.be.found }}!", "en_US")
    assert text == "nowhere.to.be.found!" and missing == ["nowhere.to.be.found"]
    # A key of another locale only is missing for English readers.
    translator = Translator({"fr_FR": FR, "en_US": EN})
    assert render(translator, "{{ t.only_fr }}", "en_US")[1] == ["only_fr"]
    assert render(translator, "{{ t.only_fr }}", "fr_BE")[0] == "seulement en français"


def novu_py(url: str, key: str) -> Novu:
    return Novu(
        secret_key=key, server_url=url, retry_config=RetryConfig("none", BackoffStrategy(1, 1, 1, 1), False)
    )


async def test_translations_api_through_novu_py(stack: Stack, live_api: str) -> None:
    env = await stack.new_env()
    sdk = novu_py(live_api, env.key)

    created = await asyncio.to_thread(
        sdk.translations.create,
        create_translation_request_dto={
            "resource_id": "welcome",
            "resource_type": models.ResourceType.WORKFLOW,
            "locale": "fr_FR",
            "content": FR,
        },
    )
    assert created.resource_id == "welcome" and created.locale == "fr_FR" and created.content == FR
    got = await asyncio.to_thread(
        sdk.translations.retrieve, resource_type="workflow", resource_id="welcome", locale="fr_FR"
    )
    assert got.content == FR

    imported = await asyncio.to_thread(
        sdk.translations.master.import_master_json,
        import_master_json_request_dto={
            "locale": "en_US",
            "master_json": {"workflows": {"welcome": EN, "no-such-workflow": EN}, "layouts": {}},
        },
    )
    assert imported.successful == ["welcome"] and imported.failed == ["no-such-workflow"]
    assert imported.success is False
    master = await asyncio.to_thread(sdk.translations.master.retrieve, locale="en_US")
    assert master.workflows == {"welcome": EN} and master.layouts == {}

    # novu-py 3.19's own request hook reads the body of multipart uploads before they are built
    # (httpx.RequestNotRead, client-side), so its ``upload`` never reaches any server: the same form as
    # plain multipart, with the ``files[]`` name Novu also accepts.
    uploaded = (
        await env.http.post(
            "/v2/translations/upload",
            data={"resourceId": "welcome", "resourceType": "workflow"},
            files=[
                ("files[]", ("de_DE.json", json.dumps({"greeting": "Hallo"}).encode(), "application/json")),
                ("files", ("xx_bad.json", b"{not json", "application/json")),
            ],
        )
    ).json()["data"]
    assert (uploaded["totalFiles"], uploaded["successfulUploads"], uploaded["failedUploads"]) == (2, 1, 1)
    master_file = await env.http.post(
        "/v2/translations/master-json/upload",
        files={"file": ("it_IT.json", json.dumps({"workflows": {"welcome": {"greeting": "Ciao"}}}).encode())},
    )
    assert master_file.status_code == 200 and master_file.json()["data"]["successful"] == ["welcome"]

    group = await asyncio.to_thread(
        sdk.translations.groups.retrieve, resource_type="workflow", resource_id="welcome"
    )
    assert group.locales == ["de_DE", "en_US", "fr_FR", "it_IT"] and group.resource_name == "Welcome"

    await asyncio.to_thread(
        sdk.translations.delete, resource_type="workflow", resource_id="welcome", locale="de_DE"
    )
    missing = await env.http.get("/v2/translations/workflow/welcome/de_DE")
    assert missing.status_code == 404
    await asyncio.to_thread(sdk.translations.groups.delete, resource_type="workflow", resource_id="welcome")
    assert (await env.http.get("/v2/translations/group/workflow/welcome")).status_code == 404

    # Another environment sees none of it and cannot write to this one's workflows.
    other = await stack.new_env()
    await env.http.post(
        "/v2/translations",
        json={"resourceId": "welcome", "resourceType": "workflow", "locale": "fr_FR", "content": FR},
    )
    assert (await other.http.get("/v2/translations/workflow/welcome/fr_FR")).status_code == 404
    assert (await other.http.get("/v2/translations/master-json", params={"locale": "fr_FR"})).json()[
        "data"
    ] == {
        "workflows": {},
        "layouts": {},
    }


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"content": {"a": 1}}, "content.a must be a string"),
        ({"content": {"a": ["x"]}}, "content.a must be a string"),
        ({"content": "hello"}, "content"),
        ({"locale": "french!"}, "locale must look like"),
        ({"resourceType": "email"}, "resourceType"),
    ],
)
async def test_bad_translations_are_400_and_store_nothing(
    env: Env, body: dict[str, Any], needle: str
) -> None:
    full = {"resourceId": "welcome", "resourceType": "workflow", "locale": "fr_FR", "content": FR, **body}
    resp = await env.http.post("/v2/translations", json=full)
    assert resp.status_code == 400, resp.text
    assert needle in json.dumps(resp.json()["message"])
    assert await env.sql("SELECT id FROM translations") == []


async def test_unknown_resource_is_404(env: Env) -> None:
    resp = await env.http.post(
        "/v2/translations",
        json={"resourceId": "nope", "resourceType": "workflow", "locale": "fr_FR", "content": {}},
    )
    assert resp.status_code == 404 and "nope" in resp.json()["message"]


async def test_subscribers_get_their_locale_end_to_end(env: Env, stack: Stack) -> None:
    await add_workflow(
        env,
        "order-shipped",
        [
            {
                "type": "in_app",
                "content": "{{ t.greeting }}: {{ t.cart.items | plural(payload.count) }} {{ t.typo }}",
            }
        ],
    )
    for locale, content in (("fr_FR", FR), ("en_US", EN)):
        resp = await env.http.post(
            "/v2/translations",
            json={
                "resourceId": "order-shipped",
                "resourceType": "workflow",
                "locale": locale,
                "content": content,
            },
        )
        assert resp.status_code == 200, resp.text
    to = [
        {"subscriberId": "amelie", "firstName": "Amélie", "locale": "fr_CA"},
        {"subscriberId": "bob", "firstName": "Bob", "locale": "en_GB"},
        {"subscriberId": "kenji", "firstName": "Kenji", "locale": "ja_JP"},
    ]
    resp = await env.trigger("order-shipped", to, {"count": 1}, transactionId="i18n-1")
    assert resp.status_code == 201, resp.text
    await env.settle("i18n-1")
    contents = {sid: (await env.feed(sid))["data"][0]["content"] for sid in ("amelie", "bob", "kenji")}
    assert contents == {
        "amelie": "Bonjour Amélie: 1 article typo",
        "bob": "Hello Bob: 1 item typo",
        "kenji": "Hello Kenji: 1 item typo",
    }
    rows = [r for r in await details(env, "i18n-1") if r.detail == "Translation missing"]
    assert len(rows) == 3 and all(r.raw["keys"] == ["typo"] for r in rows)
    assert {r.raw["locale"] for r in rows} == {"fr_CA", "en_GB", "ja_JP"}


async def test_email_layouts_are_translated_with_their_own_texts(env: Env, stack: Stack) -> None:
    layout = (
        await env.http.post(
            "/v1/layouts",
            json={
                "name": "Brand",
                "identifier": "brand-i18n",
                "content": "<main>{{{body}}}</main><footer>{{ t.footer }} {{ t.nope }}</footer>",
            },
        )
    ).json()["data"]
    for locale, footer in (("fr_FR", "Envoyé par Acme"), ("en_US", "Sent by Acme")):
        resp = await env.http.post(
            "/v2/translations",
            json={
                "resourceId": "brand-i18n",
                "resourceType": "layout",
                "locale": locale,
                "content": {"footer": footer},
            },
        )
        assert resp.status_code == 200, resp.text
    await add_workflow(
        env, "shipped", [{"type": "email", "subject": "Shipped", "content": "Hi", "layoutId": layout["_id"]}]
    )
    to = [
        {"subscriberId": "zoe", "email": "zoe@example.com", "locale": "fr_BE"},
        {"subscriberId": "sam", "email": "sam@example.com", "locale": "en_US"},
    ]
    await env.trigger("shipped", to, {}, transactionId="i18n-layout")
    await env.settle("i18n-layout")
    (fr,) = await stack.mailbox.wait_for(1, "zoe@example.com")
    (en,) = await stack.mailbox.wait_for(1, "sam@example.com")
    assert "<footer>Envoyé par Acme nope</footer>" in fr.get_body(("html",)).get_content()
    assert "<footer>Sent by Acme nope</footer>" in en.get_body(("html",)).get_content()
    missing = [r for r in await details(env, "i18n-layout") if r.detail == "Translation missing"]
    assert {r.raw["keys"][0] for r in missing} == {"nope"} and len(missing) == 2
