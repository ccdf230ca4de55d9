"""The adapter interfaces and the error split that drives retries and failover."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


class ProviderError(Exception):
    """A provider refused or failed a send. ``permanent`` errors are neither retried nor failed over."""

    def __init__(self, message: str, *, permanent: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status


@dataclass
class Attachment:
    name: str
    content: bytes
    mime: str = "application/octet-stream"


@dataclass
class EmailMessage:
    to: list[str]
    subject: str
    html: str
    text: str | None = None
    from_address: str | None = None
    sender_name: str | None = None
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    idempotency_key: str | None = None


@dataclass
class SendResult:
    provider_message_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class EmailProvider:
    """Sends one email with the integration's decrypted credentials."""

    provider_id: ClassVar[str]
    #: True when the provider de-duplicates on ``idempotency_key`` itself.
    idempotent: ClassVar[bool] = False

    async def send(self, message: EmailMessage, credentials: dict[str, Any]) -> SendResult:
        raise NotImplementedError  # each adapter implements this
