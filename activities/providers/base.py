"""The adapter interfaces (one per channel) and the error split that drives retries and failover."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from workflows.paths import deep_merge as deep_merge  # the adapters merge ``extra`` with it


class ProviderError(Exception):
    """A provider refused or failed a send. ``permanent`` errors are neither retried nor failed over.

    ``in_flight`` means the provider is still processing an earlier request with the same idempotency
    key: the message may be on its way, so it must be asked again later (same key), never sent through
    another integration. The message never carries credentials or webhook URLs: it is written to
    execution details.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        in_flight: bool = False,
        gone_tokens: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent and not in_flight
        self.status = status
        self.in_flight = in_flight
        #: Push: device tokens the provider says are gone for good (removed from the subscriber).
        self.gone_tokens = list(gone_tokens or [])


class TokenGone(ProviderError):
    """Push: the provider says this device token (or browser subscription) will never work again —
    FCM ``UNREGISTERED``, APNs 410 ``Unregistered``/``BadDeviceToken``, Web Push 404/410, Expo
    ``DeviceNotRegistered``. The sender removes it from the subscriber."""

    def __init__(self, token: str, reason: str) -> None:
        super().__init__(f"device token is no longer valid: {reason}", permanent=True, gone_tokens=[token])
        self.token = token
        self.reason = reason


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
    extra: dict[str, Any] = field(default_factory=dict)  # ``overrides.<providerId>``, merged last


@dataclass
class SmsMessage:
    to: str
    content: str
    from_number: str | None = None
    idempotency_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PushMessage:
    tokens: list[str]
    title: str
    content: str
    data: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChatMessage:
    webhook_url: str
    content: str
    idempotency_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SendResult:
    provider_message_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    #: Push: tokens the provider reported gone while others of the subscriber still received.
    gone_tokens: list[str] = field(default_factory=list)


M = TypeVar("M")


class Provider(ABC, Generic[M]):
    """Sends one message with the integration's decrypted credentials."""

    provider_id: ClassVar[str]
    channel: ClassVar[str]
    #: True when the provider de-duplicates on ``idempotency_key`` itself, so a send whose outcome is
    #: unknown (the worker died mid-call) may be repeated safely.
    idempotent: ClassVar[bool] = False

    @abstractmethod
    async def send(self, message: M, credentials: dict[str, Any]) -> SendResult:
        """Deliver ``message``; raise :class:`ProviderError` on failure."""


class EmailProvider(Provider[EmailMessage]):
    channel: ClassVar[str] = "email"


class SmsProvider(Provider[SmsMessage]):
    channel: ClassVar[str] = "sms"


class PushProvider(Provider[PushMessage]):
    channel: ClassVar[str] = "push"


class ChatProvider(Provider[ChatMessage]):
    channel: ClassVar[str] = "chat"
