"""Secrets at rest (SPEC §13): a model field whose column holds a Fernet token, never the value.

TOTP keys, recovery codes and webhook secrets must be usable by the application (HMAC needs the key
itself, a TOTP code is computed from its secret), so they cannot be hashed like passwords; they are
encrypted under ``FIELD_ENCRYPTION_KEYS``, keys from the environment that a database dump does not
contain. The library is PyCA ``cryptography``'s Fernet (AES-128-CBC with a random IV, authenticated by
HMAC-SHA256), through ``MultiFernet``: the first key encrypts, every key listed decrypts, so a key is
rotated by putting a new one first, running ``manage.py rotate_field_encryption`` (every value
re-encrypted under the new key) and then dropping the old one (docs/configuration.md).

Why not a packaged field: django-cryptography is unmaintained since 2022 (its forks for Django 5 are
one-person), and django-fernet-encrypted-fields derives its keys from ``SECRET_KEY`` and salts, which
ties every secret to the Django secret key's rotation; the field here is a few lines over the
library that does the cryptography.

A Fernet token differs at every encryption, so an encrypted column cannot be searched or compared in
SQL: look rows up by another column and compare the decrypted value in Python.
"""

from __future__ import annotations

import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@functools.lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes each), comma-separated; "
            'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        ) from error


def field_encryption() -> MultiFernet:
    """The keys in force (read on every use, so a settings override applies)."""
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    return _fernet(keys)


def check_keys(keys: list[str]) -> None:
    """Raise ImproperlyConfigured unless every key is a Fernet key (settings call it at start-up)."""
    _fernet(tuple(keys))


def encrypt(value: str) -> str:
    return field_encryption().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return field_encryption().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise ImproperlyConfigured(
            "A value encrypted at rest could not be decrypted: none of FIELD_ENCRYPTION_KEYS is the key it was "
            "encrypted with (a key was dropped before `manage.py rotate_field_encryption` ran?)."
        ) from None


def reencrypt(token: str) -> str:
    """The same value under the first key (``MultiFernet.rotate``), for key rotation."""
    return field_encryption().rotate(token.encode("ascii")).decode("ascii")


class EncryptedTextField(models.TextField):
    """A text value stored as a Fernet token. Python sees the plain value; the column never holds it."""

    description = "Text encrypted at rest (Fernet)"

    def from_db_value(self, value: Any, expression, connection) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt(str(value))
