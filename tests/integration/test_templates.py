"""Rendering: Novu's context, Novu's helpers, Handlebars templates, and what a template may not do."""

from __future__ import annotations

from typing import Any

import pytest

from activities.render import Renderer, RenderError, template_context
from tests.support import Env

RENDERER = Renderer()


def context(**payload: Any) -> dict[str, Any]:
    return template_context(
        payload=payload,
        subscriber={"subscriberId": "ada", "firstName": "Ada", "data": {"plan": "pro"}},
        actor={"subscriberId": "grace", "firstName": "Grace"},
        tenant={"identifier": "acme", "name": "Acme", "data": {"tier": "gold"}},
        digest={"events": [{"name": "x", "n": 2}, {"name": "y", "n": 1}], "total_count": 2},
        branding={"logo": "https://logo"},
    )


def render(source: str, escape: bool = True, **payload: Any) -> str:
    return RENDERER.render(source, context(**payload), escape=escape)


def test_novu_context() -> None:
    assert render("{{name}} {{payload.name}}", name="Bo") == "Bo Bo"
    assert render("{{subscriber.firstName}} {{subscriber.data.plan}}") == "Ada pro"
    assert render("{{actor.firstName}} / {{tenant.name}} {{tenant.data.tier}}") == "Grace / Acme gold"
    assert render("{{step.digest}} {{step.total_count}} {{step.events.length}}") == "True 2 2"
    assert render("{{#if step.digest}} HAS_DIGEST_PROP {{/if}}") == " HAS_DIGEST_PROP "
    assert render("{{branding.logo}} {{branding.color}}") == "https://logo #f47373"
    assert render("{{missing.deeply.nested}}|") == "|"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{uppercase name}} {{lowercase name}} {{titlecase 'hello wORLD'}}", "ADA ada Hello World"),
        ("{{pluralize 1 'comment' 'comments'}} {{pluralize 2 'comment' 'comments'}}", "comment comments"),
        (
            "{{dateFormat when 'yyyy-MM-dd HH:mm'}} {{dateFormat when 'MMM do, yyyy'}}",
            "2024-03-05 09:07 Mar 5th, 2024",
        ),
        ("{{dateFormat 'not a date' 'yyyy'}}", "not a date"),
        (
            "{{numberFormat 1234567.891}} {{numberFormat 1234.5 decimalLength=0 thousandsSep='.'}}",
            "1,234,567.89 1.234",
        ),
        ("{{#each (sortBy step.events 'n')}}{{name}}{{/each}}", "yx"),
        ("{{#each (groupBy items 'k')}}{{key}}={{items.length}};{{/each}}", "a=2;b=1;"),
        ("{{#each (unique items 'k')}}{{this}}{{/each}}", "ab"),
        (
            "{{#equals n '3'}}loose{{else}}no{{/equals}} {{#eq n '3'}}strict{{else}}not strict{{/eq}}",
            "loose not strict",
        ),
        ("{{#gt n 2}}gt{{/gt}}{{#lte n 3}} lte{{/lte}} {{#if (ne n 4)}}ne{{/if}}", "gt lte ne"),
        ("{{{json tags}}}", '["a","b"]'),
        ("{{#each items}}{{@index}}{{k}}{{#if @last}}.{{/if}}{{/each}}", "0a1a2b."),
        ("{{#each obj}}{{@key}}={{this}} {{/each}}", "x=1 y=2 "),
        ("{{#each items}}{{../name}}{{/each}}", "AdaAdaAda"),
        ("{{#with obj}}{{x}}{{/with}}", "1"),
        ("{{#unless flag}}off{{else}}on{{/unless}}", "off"),
        ("{{#if flag}}a{{else if n}}b{{else}}c{{/if}}", "b"),
        ("{{! a comment }}{{!-- another --}}kept", "kept"),
        (
            "{{ name|uppercase }} {{ subscriber.firstName or name }} {% if n > 2 %}big{% endif %}",
            "ADA Ada big",
        ),
        ("Plain {{ text }} with {% raw %}{{ raw }}{% endraw %}", "Plain t with {{ raw }}"),
        ("{{#each items}}{{nothing}}{{/each}}{{ none_value }}|", "|"),
    ],
)
def test_helpers_and_handlebars(source: str, expected: str) -> None:
    payload = {
        "name": "Ada",
        "when": "2024-03-05T09:07:00.000Z",
        "n": 3,
        "items": [{"k": "a"}, {"k": "a"}, {"k": "b"}],
        "obj": {"x": 1, "y": 2},
        "tags": ["a", "b"],
        "flag": False,
        "text": "t",
        "none_value": None,
    }
    assert render(source, **payload) == expected


def test_escaping_like_handlebars() -> None:
    html = "<b>O'Neil & co</b>"
    assert render("{{v}}", v=html) == "&lt;b&gt;O'Neil &amp; co&lt;/b&gt;"
    assert render("{{{v}}}", v=html) == html
    assert render("{{v}}", escape=False, v=html) == html  # subjects, SMS, push: not HTML


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ name.__class__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ self.__init__.__globals__ }}",
        "{{ ().__class__.__base__.__subclasses__() }}",
        "{{ name.mro() }}",
        "{{ payload.__class__ }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ 'x' * 10000000 }}",
        "{{ 10 ** 100000000 }}",
        "{% for i in range(100000000) %}{% endfor %}",
        "{% for a in range(9) %}{% for b in x %}{% for c in x %}{% for d in x %}{% endfor %}{% endfor %}"
        "{% endfor %}{% endfor %}",
        "{{#each items}}unclosed",
        "{{#if}}{{/each}}",
        "{{> partial}}",
        "{{ broken(",
    ],
)
def test_injection_attempts_fail_safely(source: str) -> None:
    with pytest.raises(RenderError):
        render(source, name="Ada", items=[])


def test_payload_values_are_data_not_templates() -> None:
    evil = "{{ ''.__class__ }} {% for x in range(3) %}x{% endfor %}"
    assert render("{{v}}", v=evil) == evil
    assert render("{{items}} {{keys}}", items="i", keys="k") == "i k"  # keys win over dict methods


async def test_novu_handlebars_template_and_failing_subscriber_end_to_end(env: Env) -> None:
    content = (
        "Hi {{subscriber.firstName}}! {{#if step.digest}}digest{{else}}{{uppercase title}}{{/if}}: "
        "{{#each items}}{{@index}}-{{this.name}}{{#unless @last}}, {{/unless}}{{/each}} "
        "{{{html}}} {{html}} {{pluralize count 'item' 'items'}}"
        "{{#equals subscriber.subscriberId 'evil'}}{{lookup this 'x'}}{{/equals}}"
    )
    evil = "{% if subscriber.subscriberId == 'evil' %}{{ subscriber.__class__ }}{% endif %}ok"
    created = await env.http.post(
        "/v1/workflows",
        json={
            "name": "Handlebars",
            "notificationGroup": {"name": "General"},
            "active": True,
            "steps": [
                {"template": {"type": "in_app", "content": content}},
                {"template": {"type": "in_app", "content": evil}},
            ],
        },
    )
    identifier = created.json()["data"]["triggers"][0]["identifier"]
    payload = {"title": "news", "items": [{"name": "a"}, {"name": "b"}], "html": "<i>x</i>", "count": 2}
    to = [{"subscriberId": "ada", "firstName": "Ada"}, {"subscriberId": "evil", "firstName": "Eve"}]
    await env.trigger(identifier, to, payload, transactionId="tx-hb")
    await env.settle("tx-hb")
    ada = sorted(m["content"] for m in (await env.feed("ada"))["data"])
    assert ada == ["Hi Ada! NEWS: 0-a, 1-b <i>x</i> &lt;i&gt;x&lt;/i&gt; items", "ok"]
    eve = [m["content"] for m in (await env.feed("evil"))["data"]]
    assert eve == ["Hi Eve! NEWS: 0-a, 1-b <i>x</i> &lt;i&gt;x&lt;/i&gt; items"]
    failed = await env.sql(
        "select d.raw from execution_details d join subscribers s on s.id = d.subscriber_id "
        "where d.transaction_id = 'tx-hb' and d.detail = 'Message content could not be generated' "
        "and s.subscriber_id = 'evil'"
    )
    assert len(failed) == 1 and "SecurityError" in str(failed[0][0])
