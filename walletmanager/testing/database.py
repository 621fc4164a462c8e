"""Test helpers for the two database roles (SPEC §14): separate connections as the schema owner or
as the runtime role, outside the test's own transaction. Tests that need them run with
``transaction=True`` so the rows they look at are committed."""

from __future__ import annotations

from collections.abc import Iterator
import os
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection


def two_roles_configured() -> bool:
    return bool(getattr(connection, "has_owner_role", False))


def require_two_roles() -> None:
    """Skip a test that needs the owner role when only one role is configured (a bare DATABASE_URL);
    the embedded default and both CI passes always have two."""
    if not two_roles_configured():
        pytest.skip("needs DATABASE_MIGRATION_URL beside DATABASE_URL")


def _connect(credentials: dict) -> psycopg.Connection:
    # Django's own connection parameters (the embedded server's socket lives in OPTIONS), with the
    # role of ``credentials``.
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.update(user=credentials.get("USER"), password=credentials.get("PASSWORD") or None)
    for key in ("HOST", "PORT"):
        if credentials.get(key):
            params[key.lower()] = credentials[key]
    return psycopg.connect(**params)


@contextmanager
def owner_connection() -> Iterator[psycopg.Connection]:
    """A connection as the schema owner (one transaction, committed when the block ends)."""
    with _connect(connection.settings_dict["OWNER"]) as owner:
        yield owner


@contextmanager
def runtime_connection() -> Iterator[psycopg.Connection]:
    """A connection as the application's runtime role, like every web process has."""
    with _connect({"USER": connection.runtime_role, "PASSWORD": connection.settings_dict.get("PASSWORD")}) as runtime:
        yield runtime


@contextmanager
def behind_the_ledger() -> Iterator[psycopg.Connection]:
    """What only a database owner could do: an owner connection with the ledger's triggers off, to
    plant drift that ``reconcile`` must find. The triggers are back on when the block ends."""
    tables = ("balances_balanceasset", "transactions_entry", "transactions_transaction")
    with owner_connection() as owner:
        for table in tables:
            owner.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            yield owner
            owner.commit()  # the drift, then the triggers back in a transaction of their own
        finally:
            owner.rollback()
            for table in tables:
                owner.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def database_env() -> dict[str, str]:
    """``DATABASE_URL`` and ``DATABASE_MIGRATION_URL`` of this run's test database, for a
    ``manage.py`` subprocess that must see what the test sees."""
    from urllib.parse import urlsplit, urlunsplit

    name = connection.settings_dict["NAME"]
    env = {}
    for variable in ("DATABASE_URL", "DATABASE_MIGRATION_URL"):
        if os.environ.get(variable):
            env[variable] = urlunsplit(urlsplit(os.environ[variable])._replace(path=f"/{name}"))
    return env
