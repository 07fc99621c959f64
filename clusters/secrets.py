"""Encryption at rest for NATS credentials (passwords, tokens, nkey seeds, creds).

Fernet (AES-128-CBC with HMAC-SHA256) from the cryptography package, keyed by
FIELD_ENCRYPTION_KEY or, by default, a key derived from SECRET_KEY with HKDF.
Values are stored as "fernet:<token>"; forms, the admin and the API never render
them, and `SecretValue` masks its repr.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(secret_key: str, field_key: str) -> Fernet:
    if field_key:
        try:
            return Fernet(field_key.encode())
        except ValueError:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEY must be 32 url-safe base64-encoded bytes "
                "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            ) from None
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"natsdash-credentials",
                   info=b"fernet").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def fernet() -> Fernet:
    return _fernet(settings.SECRET_KEY, settings.FIELD_ENCRYPTION_KEY or "")


def encrypt(value: str) -> str:
    return PREFIX + fernet().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return fernet().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "stored NATS credentials cannot be decrypted: SECRET_KEY or FIELD_ENCRYPTION_KEY changed"
        ) from None


class SecretValue(str):
    """A decrypted secret: a plain str to the code that needs it, masked in repr()
    (tracebacks, debug pages and logged objects show reprs)."""

    def __repr__(self) -> str:
        return "SecretValue('********')"


class EncryptedTextField(models.TextField):
    """A text column holding Fernet ciphertext; Python code sees SecretValue or ""."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return ""
        return SecretValue(decrypt(value))

    def to_python(self, value):
        if not value:
            return ""
        if isinstance(value, SecretValue):
            return value
        if isinstance(value, str) and value.startswith(PREFIX):
            return SecretValue(decrypt(value))
        return SecretValue(value)

    def get_prep_value(self, value):
        if not value:
            return ""
        return encrypt(str(value))
