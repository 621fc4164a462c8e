"""Running the real Procrastinate worker inside a test: the jobs a test's changes deferred are
executed by the same code ``manage.py procrastinate worker`` runs, against the test database."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection


def jobs_waiting(*, task: str | None = None) -> list[dict]:
    """The jobs not yet run (``todo``), oldest first, as ``{"task", "args", "scheduled_at"}``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT task_name, args, scheduled_at FROM procrastinate_jobs WHERE status = 'todo'"
            " AND (%s::text IS NULL OR task_name = %s) ORDER BY id",
            [task, task],
        )
        return [{"task": name, "args": args, "scheduled_at": at} for name, args, at in cursor.fetchall()]


def run_jobs(*, until: Callable[[], bool] | None = None, timeout: float = 20.0) -> None:
    """Run a worker until no job is due; with ``until``, keep running (retries are scheduled a little
    later) until it holds, failing after ``timeout`` seconds."""
    from procrastinate.contrib.django import app

    deadline = time.monotonic() + timeout
    with app.replace_connector(app.connector.get_worker_connector()):
        while True:
            app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)
            if until is None or until():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"The jobs did not get there within {timeout} s")
            time.sleep(0.05)
