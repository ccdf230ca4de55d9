"""Inbox HMAC: ``subscriberHash = hex(HMAC-SHA256(key=<environment API key>, msg=subscriberId))``.

Novu keys the hash with the environment's API key. Tidings stores keys only as SHA-256 hashes for
look-up, so each key is also kept sealed with the credential cipher (``api_keys.key_encrypted``); the
plain key is opened only here, compared in constant time, and never logged or returned.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.crypto import CredentialCipher
from store.models import ApiKey


def seal_api_key(cipher: CredentialCipher, key: str) -> str:
    return cipher.encrypt({"apiKey": key})


def subscriber_hash(api_key: str, subscriber_id: str) -> str:
    """What a backend computes and hands to its browser for ``subscriberHash``."""
    return hmac.new(api_key.encode(), subscriber_id.encode(), hashlib.sha256).hexdigest()


async def subscriber_hash_ok(
    *,
    session: AsyncSession,
    cipher: CredentialCipher,
    environment_id: str,
    subscriber_id: str,
    subscriber_hash_value: str | None,
) -> bool:
    """Whether the hash was made with one of the environment's API keys (any of them, so rotating keys
    does not log every browser out at once)."""
    if not subscriber_hash_value:
        return False
    stmt = select(ApiKey.key_encrypted).where(
        ApiKey.environment_id == environment_id, col(ApiKey.key_encrypted).is_not(None)
    )
    for sealed in (await session.exec(stmt)).all():
        try:
            key = str(cipher.decrypt(sealed or "").get("apiKey", ""))
        except ValueError:
            continue
        if key and hmac.compare_digest(subscriber_hash(key, subscriber_id), subscriber_hash_value):
            return True
    return False
