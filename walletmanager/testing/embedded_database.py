"""pytest plugin: give the test run a throwaway embedded PostgreSQL, with the owner and runtime roles
of SPEC §14, unless DATABASE_URL is set.

Loaded with ``-p`` (see ``pyproject.toml``) so it runs before pytest-django reads the settings.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # A developer's `.env` (written by `make run`: DJANGO_DEBUG=1, ...) must not change what the tests see.
    os.environ.setdefault("WALLETMANAGER_ENV_FILE", "")
    # The test client speaks plain HTTP; production's HTTPS redirect would answer every request 301.
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
    # Production settings refuse to start without a secret key (SPEC §13); the suite runs them with one
    # of its own, made fresh for the run.
    if not os.environ.get("DJANGO_SECRET_KEY"):
        import secrets

        os.environ["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    # Likewise the key of the secrets encrypted at rest (a Fernet key: 32 random bytes, base64).
    if not os.environ.get("FIELD_ENCRYPTION_KEYS"):
        import base64
        import secrets

        os.environ["FIELD_ENCRYPTION_KEYS"] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    # Likewise the payment provider's callback secret (the callback tests sign with whatever it is).
    if not os.environ.get("PAYMENT_CALLBACK_SECRET"):
        import secrets

        os.environ["PAYMENT_CALLBACK_SECRET"] = secrets.token_urlsafe(32)
    if os.environ.get("DATABASE_URL"):
        return
    from walletmanager import embedded_postgres

    # A fresh cluster per run, deleted when pytest exits.
    pgdata = Path(tempfile.mkdtemp(prefix="walletmanager-test-pg-")) / "pgdata"
    os.environ["DATABASE_URL"], os.environ["DATABASE_MIGRATION_URL"] = embedded_postgres.start(pgdata, throwaway=True)
