"""Re-encrypt every secret at rest under the current key (after a rotation or the HKDF change)."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.crypto import CredentialCipher
from store.models import ApiKey, Integration


async def reencrypt_all(*, session: AsyncSession, cipher: CredentialCipher) -> int:
    """Integration credentials and API-key copies not yet under the current key → re-encrypted.
    Returns how many values changed; running it again changes nothing."""
    changed = 0
    for row in (await session.exec(select(Integration))).all():
        if not cipher.is_current(row.credentials_encrypted):
            row.credentials_encrypted = cipher.rotate(row.credentials_encrypted)
            session.add(row)
            changed += 1
    for key in (await session.exec(select(ApiKey))).all():
        if not cipher.is_current(key.key_encrypted):
            key.key_encrypted = cipher.rotate(key.key_encrypted)
            session.add(key)
            changed += 1
    await session.flush()
    return changed
