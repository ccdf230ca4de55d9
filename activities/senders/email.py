"""Email: layouts and preheader, ``overrides.email`` / ``overrides.<providerId>``, attachments, failover."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from html import escape
from typing import Any, ClassVar

from activities.providers.base import Attachment, EmailMessage
from activities.render import RenderError
from activities.sandbox import SandboxPool
from activities.senders.base import Batch, Rendered
from activities.senders.channel import (
    Attempt,
    MissingRecipient,
    ProviderSender,
    as_list,
    channel_overrides,
    idempotency_key,
)
from activities.senders.selection import failover_order
from activities.template_subscriber import template_subscriber
from activities.translations import Translator, references
from store.layouts import layout_for_email
from store.models import Integration, Layout
from store.translations import resource_translations
from workflows.details import Detail, DetailStatus

BODY_TAG = re.compile(r"<body[^>]*>", re.IGNORECASE)
EMAIL_KEYS = frozenset(
    {"to", "cc", "bcc", "from", "senderName", "replyTo", "subject", "text", "html", "headers",
     "integrationIdentifier", "customData", "ipPoolName", "layoutIdentifier"}
)  # fmt: skip


@dataclass
class EmailShared:
    layout: Layout | None
    missing_layout: str | None
    attachments: list[Attachment]
    #: subscriber row id → the layout rendered around their content, or why it could not be
    html: dict[str, str | RenderError]


def attachments_from(payload: dict[str, Any]) -> list[Attachment]:
    """``payload.attachments = [{file: <base64>, name, mime}]`` → attachments (bad entries are skipped)."""
    found = []
    for item in payload.get("attachments") or []:
        if not isinstance(item, dict) or not item.get("file"):
            continue
        try:
            content = base64.b64decode(str(item["file"]), validate=False)
        except (binascii.Error, ValueError):
            continue
        found.append(
            Attachment(
                name=str(item.get("name") or "attachment"),
                content=content,
                mime=str(item.get("mime") or "application/octet-stream"),
            )
        )
    return found


def inject_preheader(html: str, preheader: str) -> str:
    """A hidden preheader ``<div>`` right after ``<body>`` (or first, when there is no body tag).

    The preheader is plain text (rendered unescaped), so it is escaped here.
    """
    div = (
        '<div style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;'
        f'overflow:hidden;">{escape(preheader)}</div>'
    )
    match = BODY_TAG.search(html)
    return html[: match.end()] + div + html[match.end() :] if match else div + html


class EmailSender(ProviderSender):
    channel: ClassVar[str] = "email"

    def __init__(self, *, sandbox: SandboxPool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sandbox = sandbox

    async def prepare(self, batch: Batch) -> EmailShared:
        overrides = batch.context.overrides or {}
        async with batch.db.session() as session:
            layout, missing = await layout_for_email(
                session=session,
                environment_id=batch.context.environment_id,
                layout_id=batch.request.step.layout_id,
                identifier=overrides.get("layoutIdentifier"),
            )
        return EmailShared(
            layout, missing, attachments_from(batch.context.payload), await self.layouts(batch, layout)
        )

    async def layouts(self, batch: Batch, layout: Layout | None) -> dict[str, str | RenderError]:
        """Each subscriber's content inside the layout (Novu renders the layout after the content), in one
        sandbox call for the batch; without a layout the content is the HTML."""
        contents = {
            r.subscriber.id: r.content if isinstance(r.content, str) else str(r.content or "")
            for r in batch.rendered
        }
        if layout is None:
            return dict(contents)
        ctx = batch.context
        shared = {
            "source": layout.content,
            "payload": ctx.payload,
            "actor": batch.actor if batch.actor is not None else ctx.actor,
            "tenant": ctx.tenant,
            "digest": batch.request.digest,
            "results": batch.request.results,
        }
        items = [
            {
                "subscriber": template_subscriber(r.subscriber),
                "body": contents[r.subscriber.id],
                "preheader": r.preheader or "",
                "subject": r.subject or "",
            }
            for r in batch.rendered
        ]
        await self.translate_layout(batch, layout, items)
        outcomes = await self.sandbox.run("layout", shared, items, tenant=ctx.environment_id)
        return {
            r.subscriber.id: out["ok"] if "ok" in out else RenderError(str(out.get("error")))
            for r, out in zip(batch.rendered, outcomes, strict=True)
        }

    async def translate_layout(self, batch: Batch, layout: Layout, items: list[dict[str, Any]]) -> None:
        """``{{ t.key }}`` in a layout: its own translations (resourceType ``layout``), per subscriber locale.
        The substitution is plain text work done here; the result renders in the sandbox like any layout."""
        if not references(layout.content):
            return
        async with batch.db.session() as session:
            rows = await resource_translations(
                session=session,
                environment_id=batch.context.environment_id,
                resource_type="layout",
                resource_id=layout.identifier or layout.id,
            )
        translator = Translator({row.locale: row.content for row in rows}, batch.default_locale)
        by_locale: dict[str | None, tuple[str, list[str]]] = {}
        for r, item in zip(batch.rendered, items, strict=True):
            locale = r.subscriber.locale
            if locale not in by_locale:
                missing: set[str] = set()
                by_locale[locale] = (translator.apply(layout.content, locale, missing), sorted(missing))
            item["source"], missing_keys = by_locale[locale]
            if missing_keys:
                batch.detail(
                    r.subscriber.id,
                    "Translation missing",
                    DetailStatus.WARNING,
                    raw={"locale": locale, "keys": missing_keys, "layout": layout.identifier},
                )

    def html(self, batch: Batch, r: Rendered, shared: EmailShared) -> str:
        """Step content inside its layout, with the preheader."""
        html = shared.html[r.subscriber.id]
        if isinstance(html, RenderError):
            raise html
        preheader = r.preheader or ""
        return inject_preheader(html, preheader) if preheader else html

    def plan(self, batch: Batch, r: Rendered, integrations: list[Integration], shared: Any) -> list[Attempt]:
        overrides = channel_overrides(batch, "email")
        base_to = [r.subscriber.email] if r.subscriber.email else []
        if not base_to and not as_list(overrides.get("to")):
            raise MissingRecipient(Detail.SUBSCRIBER_NO_CHANNEL_DETAILS, "email")
        if shared.missing_layout:
            batch.detail(
                r.subscriber.id,
                Detail.LAYOUT_NOT_FOUND,
                DetailStatus.WARNING,
                raw={"layout": shared.missing_layout},
            )
        html = self.html(batch, r, shared)
        sender_name = r.sender_name
        order = failover_order(
            integrations, tenant=batch.context.tenant, identifier=overrides.get("integrationIdentifier")
        )
        attempts = []
        for integration in order:
            o = channel_overrides(batch, "email", integration.provider_id)
            provider_specific = (batch.context.overrides or {}).get(integration.provider_id) or {}
            message = EmailMessage(
                to=list(dict.fromkeys(base_to + as_list(o.get("to")))),
                subject=o.get("subject") or r.subject or "",
                html=o.get("html") or html,
                text=o.get("text"),
                from_address=o.get("from"),
                sender_name=o.get("senderName") or sender_name,
                cc=as_list(o.get("cc")),
                bcc=as_list(o.get("bcc")),
                reply_to=o.get("replyTo"),
                headers={str(k): str(v) for k, v in (o.get("headers") or {}).items()},
                attachments=shared.attachments,
                idempotency_key=idempotency_key(batch, r.subscriber.id),
                extra={k: v for k, v in provider_specific.items() if k not in EMAIL_KEYS},
            )
            attempt = self.attempt(integration, message)
            if attempt is not None:
                attempts.append(attempt)
        return attempts

    def row_fields(self, batch: Batch, r: Rendered, attempts: list[Attempt]) -> dict[str, Any]:
        message = attempts[0].message
        return {"email": ", ".join(message.to), "subject": message.subject}
