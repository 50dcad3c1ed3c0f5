"""Encryption at rest for third-party keys (UIS, Okdesk), and hashing for our own tokens.

Third-party keys must be readable again (Trubka sends them), so they are encrypted with
Fernet under ``TRUBKA_ENCRYPTION_KEY``; on the embedded default the key is generated once into
``<data dir>/encryption_key``. Our own secrets (webhook tokens) only need comparing, so the
database keeps their SHA-256 and, for showing the URL again, the token encrypted.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models

from trubka.env import ConfigurationError


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with the configured key."""


@cache
def _fernet() -> Fernet:
    key = settings.TRUBKA_ENCRYPTION_KEY
    if not key:
        key_file = Path(settings.DATA_DIR) / "encryption_key"
        if key_file.exists():
            key = key_file.read_text().strip()
        else:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key = Fernet.generate_key().decode()
            key_file.write_text(key)
            key_file.chmod(0o600)
    try:
        return Fernet(key.encode())
    except ValueError:
        raise ConfigurationError(
            "TRUBKA_ENCRYPTION_KEY must be 32 url-safe base64-encoded bytes "
            "(generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')"
        ) from None


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(value: str) -> str:
    if not value:
        return ""
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored key cannot be decrypted: TRUBKA_ENCRYPTION_KEY differs from the one "
            "it was saved with."
        ) from None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class EncryptedTextField(models.TextField):
    """A text column whose value is Fernet-encrypted in the database, plain in Python."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str:
        return decrypt(value) if value else ""

    def get_prep_value(self, value: Any) -> str:
        return encrypt(str(value)) if value else ""
