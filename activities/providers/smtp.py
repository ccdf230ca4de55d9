"""SMTP (Novu's ``nodemailer`` provider) through aiosmtplib, and the MIME builder SES reuses."""

from __future__ import annotations

import email.message
import email.utils
from typing import Any, ClassVar

import aiosmtplib

from activities.providers.base import EmailMessage, EmailProvider, ProviderError, SendResult
from activities.providers.http import sender
from tidings.outbound import DestinationRefused, open_checked_socket


def mime_message(message: EmailMessage, credentials: dict[str, Any]) -> email.message.EmailMessage:
    """The RFC 5322 message: text and HTML alternatives, attachments as MIME parts."""
    msg = email.message.EmailMessage()
    address = message.from_address or credentials.get("from") or "no-reply@localhost"
    msg["From"] = sender(address, message.sender_name or credentials.get("senderName"))
    msg["To"] = ", ".join(message.to)
    if message.cc:
        msg["Cc"] = ", ".join(message.cc)
    if message.reply_to:
        msg["Reply-To"] = message.reply_to
    msg["Subject"] = message.subject
    msg["Date"] = email.utils.formatdate(localtime=False)
    domain = address.rsplit("@", 1)[-1]
    key = message.idempotency_key
    # A stable Message-ID lets receiving servers and clients drop a duplicate of a re-sent message.
    msg["Message-ID"] = f"<{key}@{domain}>" if key else email.utils.make_msgid(domain=domain)
    for name, value in message.headers.items():
        msg[name] = value
    msg.set_content(message.text or "")
    msg.add_alternative(message.html, subtype="html")
    for att in message.attachments:
        maintype, _, subtype = att.mime.partition("/")
        msg.add_attachment(
            att.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=att.name,
        )
    return msg


class SmtpProvider(EmailProvider):
    """Tenants choose the SMTP host, so the connection is opened through the outbound check. The
    operator's own relay (``TIDINGS_SMTP_HOST``/``PORT``, ``trusted``) may be private, and an integration
    without a user that points at it is sent with the operator's login (``operator_login``), which is
    never stored in tenants' integrations."""

    provider_id: ClassVar[str] = "nodemailer"

    def __init__(
        self,
        timeout: float = 20.0,
        *,
        allow_private: bool = False,
        trusted: tuple[str, int] | None = None,
        operator_login: tuple[str, str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.trusted = [trusted] if trusted else []
        self.operator_login = operator_login if operator_login and operator_login[0] else None

    async def send(self, message: EmailMessage, credentials: dict[str, Any]) -> SendResult:
        msg = mime_message(message, credentials)
        secure = str(credentials.get("secure", "")).lower() in ("true", "1")
        host = str(credentials.get("host") or "127.0.0.1")
        try:
            port = int(credentials.get("port") or (465 if secure else 25))
        except (TypeError, ValueError) as exc:
            raise ProviderError("SMTP port is not a number", permanent=True) from exc
        try:
            sock = await open_checked_socket(
                host, port, allow_private=self.allow_private, timeout=self.timeout, trusted=self.trusted
            )
        except DestinationRefused as exc:
            raise ProviderError(str(exc), permanent=True) from exc
        except OSError as exc:
            raise ProviderError(f"SMTP unavailable: {type(exc).__name__}", permanent=False) from exc
        username, password = credentials.get("user") or None, credentials.get("password") or None
        if username is None and self.operator_login and (host, port) in self.trusted:
            username, password = self.operator_login
        try:
            await aiosmtplib.send(
                msg,
                recipients=[*message.to, *message.cc, *message.bcc],
                hostname=host,
                sock=sock,
                username=username,
                password=password,
                use_tls=secure,
                start_tls=None if not secure else False,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise ProviderError("recipient refused", permanent=True) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise ProviderError(f"authentication failed: {exc.code}", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise ProviderError(f"SMTP {exc.code}", permanent=500 <= exc.code < 600, status=exc.code) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise ProviderError(f"SMTP unavailable: {type(exc).__name__}", permanent=False) from exc
        finally:
            sock.close()
        return SendResult(provider_message_id=msg["Message-ID"])
