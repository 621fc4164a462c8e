"""Webhook signatures per Standard Webhooks 1.0, symmetric scheme (SPEC §15).

Every delivery carries ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature:
v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>``, where the key is the base64 part of
the endpoint's ``whsec_…`` secret, so receivers verify with the ``standardwebhooks`` library of their
language.

Written by hand rather than with that library: signing is ten lines of the specification over
``hmac``/``hashlib``, not worth a runtime dependency. The tests sign here and verify with the library
(a test-only requirement), which proves the two agree.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
# The specification asks for 24 to 64 random bytes; 32 is the size of an HMAC-SHA256 key.
SECRET_BYTES = 32


def secret_generate() -> str:
    """A new endpoint secret, ``whsec_<base64 of 32 random bytes>``, shown to its owner once."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as error:
        raise ValueError("a webhook secret is base64 after its prefix") from error
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def signature_headers(*, secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt to send ``body`` (the exact bytes sent).

    ``message_id`` stays the same across retries of one event (receivers dedupe by it);
    ``timestamp`` is the attempt's, in unix seconds. Raises ``ValueError`` for a malformed secret.
    """
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode("ascii"),
    }
