"""Real processes for fault tests (SPEC §18): the web server and the worker as ``make run`` starts
them, each in a subprocess of its own against a database the test chooses, and a PostgreSQL cluster
of the test's own that it may restart (never the machine's shared server, nor the run's test
cluster)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class Answer:
    status: int  # 0: no HTTP answer at all (connection refused or reset)
    body: bytes = b""
    retry_after: str | None = None

    def json(self):
        return json.loads(self.body)


def get(port: int, path: str, *, token: str | None = None, timeout: float = 30) -> Answer:
    """One request on a connection of its own, as a separate client sends it."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Authorization": f"Token {token}"} if token else {})
        response = connection.getresponse()
        return Answer(response.status, response.read(), response.getheader("Retry-After"))
    except (ConnectionError, TimeoutError, http.client.HTTPException):
        return Answer(0)
    finally:
        connection.close()


def start(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """``manage.py *args`` in the background, its output in ``log``."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a stop reaches everything it started
        )


def stop(process: subprocess.Popen, *, timeout: float = 30) -> int:
    """SIGTERM, then SIGKILL if it does not end within ``timeout``; its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    return process.returncode


@contextmanager
def web_server(*, env: dict[str, str], log: Path) -> Iterator[int]:
    """``manage.py runserver`` (threaded, as under ``make run``) on a free port; yields the port once
    it answers."""
    port = free_port()
    server = start("runserver", "--noreload", f"{HOST}:{port}", env=env, log=log)
    try:
        deadline = time.monotonic() + 60
        while get(port, "/api/health/", timeout=2).status != 200:
            assert server.poll() is None, f"runserver exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"runserver did not answer in 60 s:\n{log.read_text()}"
            time.sleep(0.2)
        yield port
    finally:
        stop(server)


@dataclass
class OwnCluster:
    """An embedded PostgreSQL cluster of the test's own, migrated, with both roles."""

    pgdata: Path
    database_url: str
    migration_url: str

    @property
    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url, "DATABASE_MIGRATION_URL": self.migration_url}

    def restart(self, *, mode: str = "immediate") -> None:
        from walletmanager import embedded_postgres

        embedded_postgres.restart(self.pgdata, mode=mode)

    def execute(self, sql: str, params: list | None = None) -> list[tuple]:
        """One statement as the schema owner, committed; its rows."""
        import psycopg

        with psycopg.connect(self.migration_url, autocommit=True) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []


@contextmanager
def own_cluster() -> Iterator[OwnCluster]:
    """Start a fresh embedded cluster in a temporary directory, migrate it, and stop and delete it
    afterwards."""
    from walletmanager import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="walletmanager-own-pg-"))
    pgdata = folder / "pgdata"
    try:
        database_url, migration_url = embedded_postgres.start(pgdata)
        cluster = OwnCluster(pgdata, database_url, migration_url)
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
            cwd=ROOT,
            env={**os.environ, **cluster.env},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert migrated.returncode == 0, migrated.stderr
        yield cluster
    finally:
        embedded_postgres.stop(pgdata)
        shutil.rmtree(folder, ignore_errors=True)
