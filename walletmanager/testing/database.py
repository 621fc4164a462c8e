"""Test helpers for the two database roles (SPEC §14): separate connections as the schema owner or
as the runtime role, outside the test's own transaction. Tests that need them run with
``transaction=True`` so the rows they look at are committed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def run_manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``manage.py *args`` in a subprocess, as an operator's shell runs it, against this run's test
    database (it holds the migrated schema), on the same server."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, **database_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


class Background:
    """Run a service on its own thread and connection; keep its result or its error."""

    def __init__(self, function) -> None:
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(function,))
        self.thread.start()

    def _run(self, function) -> None:
        try:
            self.result = function()
        except Exception as error:  # noqa: BLE001 - kept and asserted by the test
            self.result = error
        finally:
            connection.close()

    def join(self):
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "a thread hung: deadlock?"
        return self.result
