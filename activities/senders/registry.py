"""The senders a worker uses, one per channel, wired with their provider adapters."""

from __future__ import annotations

from activities.providers.registry import build_providers
from activities.sandbox import SandboxPool
from activities.senders.base import Sender
from activities.senders.channel import ProviderSender
from activities.senders.chat import ChatSender
from activities.senders.email import EmailSender
from activities.senders.in_app import InAppSender
from activities.senders.push import PushSender
from activities.senders.sms import SmsSender
from store.crypto import CredentialCipher


def build_senders(
    *,
    cipher: CredentialCipher,
    base_urls: dict[str, str] | None = None,
    attempts: int = 3,
    backoff: float = 0.5,
    timeout: float = 10.0,
    sandbox: SandboxPool,
    allow_private: bool = False,
    trusted_smtp: tuple[str, int] | None = None,
    smtp_login: tuple[str, str] | None = None,
    max_connections: int = 200,
    max_keepalive: int = 200,
    concurrency: int = 16,
) -> dict[str, Sender]:
    providers = build_providers(
        base_urls=base_urls,
        timeout=timeout,
        allow_private=allow_private,
        trusted_smtp=trusted_smtp,
        smtp_login=smtp_login,
        max_connections=max_connections,
        max_keepalive=max_keepalive,
    )
    common = {"cipher": cipher, "attempts": attempts, "backoff": backoff, "concurrency": concurrency}
    external: dict[str, ProviderSender] = {
        "email": EmailSender(sandbox=sandbox, providers=providers["email"], **common),  # type: ignore[arg-type]
        "sms": SmsSender(providers=providers["sms"], **common),  # type: ignore[arg-type]
        "chat": ChatSender(providers=providers["chat"], **common),  # type: ignore[arg-type]
        "push": PushSender(providers=providers["push"], **common),  # type: ignore[arg-type]
    }
    return {"in_app": InAppSender(), **external}
