"""Subscriber HMACs: ``hex(HMAC-SHA256(key=<environment API key>, msg=subscriberId))``, as Novu computes
them for the Inbox (``subscriberHash``) and chat OAuth (``hmacHash``).

API keys are looked up by hash only; the encrypted copy kept with each key (credential cipher, see
``store/crypto.py``) is what makes the HMAC checkable. A hash made with any of the environment's keys is
accepted. Keys created before that copy existed cannot verify hashes: create a new one
(``tidings keys create``).
"""

from __future__ import annotations

import hashlib
import hmac

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.crypto import CredentialCipher
from store.models import ApiKey, Integration


def subscriber_hash(api_key: str, subscriber_id: str) -> str:
    return hmac.new(api_key.encode(), subscriber_id.encode(), hashlib.sha256).hexdigest()


async def environment_keys(
    *, session: AsyncSession, cipher: CredentialCipher, environment_id: str
) -> list[str]:
    """The environment's API keys in clear (those stored with an encrypted copy)."""
    rows = (
        await session.exec(
            select(ApiKey.key_encrypted).where(
                ApiKey.environment_id == environment_id, ApiKey.key_encrypted != ""
            )
        )
    ).all()
    return [cipher.decrypt_text(token) for token in rows]


async def subscriber_hash_ok(
    *,
    session: AsyncSession,
    cipher: CredentialCipher,
    environment_id: str,
    subscriber_id: str,
    subscriber_hash_value: str | None,
) -> bool:
    """Whether ``subscriber_hash_value`` is the HMAC of ``subscriber_id`` under one of the environment's
    keys (compared in constant time). A missing hash is never OK."""
    if not subscriber_hash_value:
        return False
    given = subscriber_hash_value.strip().lower()
    keys = await environment_keys(session=session, cipher=cipher, environment_id=environment_id)
    return any(hmac.compare_digest(subscriber_hash(key, subscriber_id), given) for key in keys)


async def hmac_enabled(*, session: AsyncSession, cipher: CredentialCipher, environment_id: str) -> bool:
    """Novu's switch: ``credentials.hmac`` of the environment's in-app integration."""
    rows = (
        await session.exec(
            select(Integration.credentials_encrypted).where(
                Integration.environment_id == environment_id,
                Integration.channel == "in_app",
                col(Integration.deleted).is_(False),
            )
        )
    ).all()
    return any(str(cipher.decrypt(token).get("hmac")).lower() in ("true", "1") for token in rows)
