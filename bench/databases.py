"""Throwaway databases and Django set-up shared by every benchmark suite.

Every suite runs on one PostgreSQL server: DATABASE_URL's (a superuser's: the suite creates
databases and the two roles of SPEC §14), else the embedded one under ``var/``. It creates its own
database there, owned by the owner role, works in it as the runtime role like the application does,
and drops it afterwards (unless told to keep it).
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# The benchmark runs the production settings, which refuse to start without a secret key or a payment
# callback secret (SPEC §13): ones of its own for the run (inherited by its gunicorn and manage.py
# children) unless they are set.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
# The secrets at rest likewise, with a fixed key of its own (not a fresh one): a database kept with
# --keep and reused by a later run must still decrypt.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", base64.urlsafe_b64encode(b"walletmanager-benchmark-only-key").decode())
os.environ.setdefault("PAYMENT_CALLBACK_SECRET", secrets.token_urlsafe(32))

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


# The owner's URL (DATABASE_MIGRATION_URL) of each database this process created, by runtime URL.
_MIGRATION_URLS: dict[str, str] = {}


def server_url() -> str:
    """A superuser's URL of the server to benchmark on."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    sys.path.insert(0, str(BASE_DIR))
    from walletmanager import embedded_postgres

    embedded_postgres.start(BASE_DIR / "var" / "pgdata")
    return embedded_postgres.superuser_url(BASE_DIR / "var" / "pgdata")


def database_env(database_url: str) -> dict[str, str]:
    """DATABASE_URL (runtime role) and DATABASE_MIGRATION_URL (owner) of a benchmark database."""
    env = {"DATABASE_URL": database_url}
    if database_url in _MIGRATION_URLS:
        env["DATABASE_MIGRATION_URL"] = _MIGRATION_URLS[database_url]
    return env


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def admin_execute(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def database_exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def create_database(url: str, name: str) -> str:
    """A fresh database for WalletManager with its two roles; returns the runtime role's URL."""
    admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return _provision(url, name)


def _provision(url: str, name: str) -> str:
    sys.path.insert(0, str(BASE_DIR))
    from walletmanager.database.roles import provision

    runtime_url, owner_url = provision(with_database(url, "postgres"), database=name)
    _MIGRATION_URLS[runtime_url] = owner_url
    return runtime_url


def create_plain_database(url: str, name: str) -> str:
    """A fresh database owned by ``url``'s role (pgbench's)."""
    admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return with_database(url, name)


def drop_database(url: str, name: str) -> None:
    admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def throwaway_database(url: str, name: str, *, keep: bool = False, reuse: bool = False):
    """Yield the URL of database ``name`` on the server of ``url``; drop it on the way out.

    ``reuse``: take the database as it is if it exists (and then never drop it), so an expensive
    data set can be loaded once and measured several times. ``keep``: leave it in place.
    """
    existed = reuse and database_exists(url, name)
    database_url = _provision(url, name) if existed else create_database(url, name)
    try:
        yield database_url
    finally:
        close_django_connections()
        if not (keep or existed):
            drop_database(url, name)


def server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute("SHOW server_version").fetchone()[0]


def setup_django(database_url: str, *, real_hasher: bool = True, extra_env: dict[str, str] | None = None) -> None:
    """Configure Django in this process against ``database_url`` (DEBUG off, as in production)."""
    os.environ.update(database_env(database_url))
    os.environ.update(extra_env or {})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletmanager.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django
    from django.conf import settings

    django.setup()
    if not real_hasher:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = False


def close_django_connections() -> None:
    """Close this process's database connections and its connection pools (SPEC §18: every process
    pools its connections), before forking load processes: a forked child must open its own sockets,
    never use the parent's, nor a pool whose worker threads did not survive the fork."""
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()
        for connection in connections.all(initialized_only=True):
            if hasattr(connection, "close_pool"):
                connection.close_pool()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, for the record: this machine may be shared."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def write_result(kind: str, started, report: dict) -> Path:
    import json

    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{kind}-{started:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    return path


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, max(0, int(len(sorted_values) * fraction + 0.5) - 1))]
