"""Keyed hashes of short secrets (SPEC §13): wallet PINs and the fingerprints of idempotent requests.

A 4–6 digit PIN has at most a million values: no password hash makes an unkeyed one safe (a stolen
table is brute-forced in seconds either way), and what protects it online is the lockout. What
protects it offline is a key the database does not hold: HMAC-SHA256 under ``PIN_KEY`` (a server
setting), so a copy of the database alone reveals nothing. One HMAC costs microseconds, where Argon2
cost ~100 ms of every transfer. Each use gets its own subkey, so a PIN hash and a fingerprint of the
same bytes never match.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

PREFIX = "hmac-sha256$"


def _key(purpose: str) -> bytes:
    master = settings.PIN_KEY or f"walletmanager.pin-key:{settings.SECRET_KEY}"
    return hmac.new(master.encode(), f"walletmanager:{purpose}".encode(), hashlib.sha256).digest()


def keyed_digest(message: str, *, purpose: str) -> str:
    """Hex HMAC-SHA256 of ``message`` under the subkey of ``purpose``."""
    return hmac.new(_key(purpose), message.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def make_keyed_hash(secret: str, *, purpose: str) -> str:
    """What is stored for ``secret``: ``hmac-sha256$<hex>``."""
    return PREFIX + keyed_digest(secret, purpose=purpose)


def is_keyed_hash(stored: str) -> bool:
    return stored.startswith(PREFIX)


def check_keyed_hash(secret: str, stored: str, *, purpose: str) -> bool:
    """Constant-time comparison of ``secret`` with a stored keyed hash."""
    return hmac.compare_digest(make_keyed_hash(secret, purpose=purpose).encode(), stored.encode())
