"""Provider credentials (and other secrets kept for later use) are encrypted at rest.

The Fernet key is derived from ``TIDINGS_SECRET_KEY`` with HKDF-SHA256. Rotation: set the new secret in
``TIDINGS_SECRET_KEY`` and the old one in ``TIDINGS_SECRET_KEY_PREVIOUS``; values encrypted under either
are read, every write uses the new one, and ``tidings rotate-secrets`` re-encrypts what is stored.
Values written before HKDF (key = SHA-256 of the secret) are still read, and re-encrypted on write.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"tidings credential encryption v2"
_SALT = b"tidings"


def derive_key(secret: str) -> bytes:
    """The Fernet key for ``secret``: HKDF-SHA256, 32 bytes, urlsafe base64."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


def legacy_key(secret: str) -> bytes:
    """The pre-HKDF key (a bare SHA-256), kept only to read values written before the change."""
    return base64.urlsafe_b64encode(hashlib.sha256(("tidings-credentials:" + secret).encode()).digest())


class CredentialCipher:
    """Fernet (AES-128-CBC + HMAC-SHA256): encrypts with the current secret, decrypts with any known one."""

    def __init__(self, secret: str, previous: str | None = None) -> None:
        secrets = [secret, *([previous] if previous else [])]
        self._current = Fernet(derive_key(secret))
        self._any = MultiFernet(
            [Fernet(derive_key(s)) for s in secrets] + [Fernet(legacy_key(s)) for s in secrets]
        )

    def encrypt(self, credentials: dict[str, Any]) -> str:
        return self.encrypt_text(json.dumps(credentials, separators=(",", ":")))

    def decrypt(self, token: str) -> dict[str, Any]:
        if not token:
            return {}
        return dict(json.loads(self.decrypt_text(token)))

    def encrypt_text(self, text: str) -> str:
        return self._current.encrypt(text.encode()).decode()

    def decrypt_text(self, token: str) -> str:
        try:
            return self._any.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("credentials cannot be decrypted with the configured secret") from exc

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is already encrypted under the current key (rotation skips it)."""
        if not token:
            return True
        try:
            self._current.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the current key."""
        return token if not token else self._current.encrypt(self._any.decrypt(token.encode())).decode()
