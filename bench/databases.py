"""Throwaway databases and Django set-up shared by every benchmark suite.

Every suite runs on one PostgreSQL server: DATABASE_URL's, else the embedded one under ``var/``.
It creates its own database there, works in it and drops it afterwards (unless told to keep it).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def server_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    sys.path.insert(0, str(BASE_DIR))
    from walletmanager import embedded_postgres

    return embedded_postgres.start(BASE_DIR / "var" / "pgdata")


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
    database_url = with_database(url, name) if existed else create_database(url, name)
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
    os.environ["DATABASE_URL"] = database_url
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
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


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
