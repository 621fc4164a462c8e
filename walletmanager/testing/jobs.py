"""Running the real Procrastinate worker inside a test: the jobs a test's changes deferred are
executed by the same code ``manage.py procrastinate worker`` runs, against the test database."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from django.db import connection, connections


def jobs_waiting(*, task: str | None = None) -> list[dict]:
    """The jobs not yet run (``todo``), oldest first, as ``{"task", "args", "scheduled_at"}``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT task_name, args, scheduled_at FROM procrastinate_jobs WHERE status = 'todo'"
            " AND (%s::text IS NULL OR task_name = %s) ORDER BY id",
            [task, task],
        )
        return [
            {"task": name, "args": json.loads(args) if isinstance(args, str) else args, "scheduled_at": at}
            for name, args, at in cursor.fetchall()
        ]


def run_jobs(*, until: Callable[[], bool] | None = None, timeout: float = 20.0) -> None:
    """Run a worker until no job is due; with ``until``, keep running (retries are scheduled a little
    later) until it holds, failing after ``timeout`` seconds."""
    from procrastinate.contrib.django import app

    async def work_until_idle() -> None:
        async with app.open_async():
            await app.run_worker_async(wait=False, install_signal_handlers=False, listen_notify=False)

    # Tasks run in pool threads, whose persistent connections would outlive the test database:
    # without a maximum age, Procrastinate's clean-up closes each one when its task ends.
    database = connections.settings["default"]
    max_age, database["CONN_MAX_AGE"] = database["CONN_MAX_AGE"], 0
    deadline = time.monotonic() + timeout
    try:
        with app.replace_connector(app.connector.get_worker_connector()):
            while True:
                asyncio.run(work_until_idle())
                if until is None or until():
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"The jobs did not get there within {timeout} s")
                time.sleep(0.05)
    finally:
        database["CONN_MAX_AGE"] = max_age


def abandon_next_job(*, task: str, silent_for_seconds: float = 3600) -> int:
    """What a worker killed mid-job leaves behind: it registered, took the oldest waiting job of
    ``task`` (now ``doing`` under it, as Procrastinate's fetch leaves it) and stopped sending
    heartbeats ``silent_for_seconds`` ago. Returns the job's id."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT worker_id FROM procrastinate_register_worker_v1()")
        (worker_id,) = cursor.fetchone()
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = ("
            " SELECT id FROM procrastinate_jobs WHERE task_name = %s AND status = 'todo' ORDER BY id LIMIT 1)"
            " RETURNING id",
            [worker_id, task],
        )
        row = cursor.fetchone()
        assert row is not None, f"no {task} job waiting"
        cursor.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - make_interval(secs => %s) WHERE id = %s",
            [silent_for_seconds, worker_id],
        )
    return row[0]


def job_status(job_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id])
        return cursor.fetchone()[0]
