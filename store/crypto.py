"""Provider credentials are encrypted at rest with a key derived from the configured secret."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class CredentialCipher:
    """Fernet (AES-128-CBC + HMAC-SHA256) keyed by SHA-256 of ``TIDINGS_SECRET_KEY``."""

    def __init__(self, secret: str) -> None:
        key = base64.urlsafe_b64encode(hashlib.sha256(("tidings-credentials:" + secret).encode()).digest())
        self._fernet = Fernet(key)

    def encrypt(self, credentials: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(credentials, separators=(",", ":")).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        if not token:
            return {}
        try:
            return dict(json.loads(self._fernet.decrypt(token.encode())))
        except InvalidToken as exc:
            raise ValueError("credentials cannot be decrypted with the configured secret") from exc
