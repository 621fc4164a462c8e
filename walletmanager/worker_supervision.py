"""A Procrastinate worker that outlives database outages (SPEC §18), run by ``manage.py worker``.

Tried: a PostgreSQL restart stopped every ``manage.py procrastinate worker``, with exit status 0.
Procrastinate's worker stops itself when one of its side tasks (the LISTEN connection, the heartbeat,
the periodic deferrer) loses the database, or raises out of its loop when fetching a job fails; it
does not reconnect, and a stop it decided on looks like one that was asked for. So this supervisor
runs the worker in a loop: when the worker ends without having been asked to, it waits for the
database with exponential backoff (1, 2, 4 … at most ``MAX_BACKOFF`` seconds between tries) and starts
a fresh worker as soon as the database answers. When the database stays unreachable (or the worker
keeps dying at once) for ``give_up_after`` seconds, it gives up and exits non-zero, so the process
supervisor above it (systemd, ``make run``'s loop) sees a failure. SIGTERM or SIGINT stops it
cleanly (the job in hand finishes) with exit status 0.

A job the old worker was running when the database went away stays ``doing`` under a worker that no
longer sends heartbeats; ``retry_stalled_jobs`` runs it again (``walletmanager.jobs``).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import psycopg
from procrastinate import App
from procrastinate.worker import Worker

logger = logging.getLogger(__name__)

# Seconds between two tries to reach the database: 1, 2, 4, … capped here.
MAX_BACKOFF = 30.0
# A worker that ran this long before stopping counts as having recovered: the next outage starts its
# own count towards giving up.
STABLE_AFTER = 60.0
# How long one try to reach the database may take.
PROBE_TIMEOUT = 5


class WorkerSupervisor:
    """Run ``app``'s worker with ``worker_options`` until asked to stop; see the module's docstring."""

    def __init__(
        self,
        *,
        app: App,
        connection_params: dict[str, Any],
        worker_options: dict[str, Any],
        give_up_after: float,
        first_backoff: float = 1.0,
    ) -> None:
        self.app = app
        self.connection_params = connection_params
        self.worker_options = worker_options
        self.give_up_after = give_up_after
        self.first_backoff = first_backoff
        self.restarts = 0
        self._worker: Worker | None = None
        self._stopping: asyncio.Event | None = None

    def stop(self) -> None:
        """Stop for good: the running worker finishes the job in hand, no new one starts."""
        if self._stopping is None or self._stopping.is_set():
            return
        logger.warning("Stop requested: the worker finishes the job in hand and exits.")
        self._stopping.set()
        if self._worker is not None:
            self._worker.stop()

    async def run(self) -> int:
        """Supervise until stopped (exit status 0) or until giving up (1)."""
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, self.stop)
        try:
            return await self._supervise(loop)
        finally:
            for number in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(number)

    async def _supervise(self, loop: asyncio.AbstractEventLoop) -> int:
        assert self._stopping is not None
        trouble_since: float | None = None
        while not self._stopping.is_set():
            started = loop.time()
            if await self._database_answers():
                error = await self._run_worker_once()
                if self._stopping.is_set():
                    return 0
                reason = f"{type(error).__name__}: {error}" if error else "one of its side tasks lost the database"
                logger.error("The worker stopped without being asked (%s); waiting for the database.", reason)
            now = loop.time()
            if trouble_since is None or now - started >= STABLE_AFTER:
                trouble_since = now  # a new outage; a worker dying again at once continues the old one
            delay = self.first_backoff
            while True:
                if now - trouble_since > self.give_up_after:
                    logger.critical(
                        "Giving up: no working database for %.0f s (WORKER_GIVE_UP_SECONDS=%.0f).",
                        now - trouble_since,
                        self.give_up_after,
                    )
                    return 1
                if await self._sleep(delay):
                    return 0
                if await self._database_answers():
                    break
                delay = min(delay * 2, MAX_BACKOFF)
                now = loop.time()
            self.restarts += 1
            logger.warning("The database answers: starting the worker again (restart %s).", self.restarts)
            await asyncio.to_thread(close_django_connections)
        return 0

    async def _run_worker_once(self) -> BaseException | None:
        """One worker's life; the error that ended it, or None when it stopped on its own."""
        try:
            async with self.app.open_async():
                self.app.perform_import_paths()
                # The supervisor owns SIGTERM/SIGINT: a worker's own handlers, removed when it ends,
                # would leave the next worker deaf to them.
                options = {**self.app.worker_defaults, **self.worker_options, "install_signal_handlers": False}
                self._worker = Worker(app=self.app, **options)
                if self._stopping is not None and self._stopping.is_set():
                    return None  # asked to stop while the app opened (run() would forget an earlier stop)
                await self._worker.run()
        except Exception as error:  # noqa: BLE001 - whatever ended the worker, the supervisor restarts it (and logs it)
            logger.warning("The worker failed", exc_info=error)
            return error
        finally:
            self._worker = None
        return None

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; True when a stop was asked for meanwhile."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def _database_answers(self) -> bool:
        try:
            async with await psycopg.AsyncConnection.connect(
                **self.connection_params, connect_timeout=PROBE_TIMEOUT, autocommit=True
            ) as connection:
                await connection.execute("SELECT 1")
        except psycopg.Error as refused:
            first_line = (str(refused).strip() or repr(refused)).splitlines()[0]
            logger.warning("The database does not answer yet: %s", first_line)
            return False
        return True


def close_django_connections() -> None:
    """Drop what the old worker's tasks left in Django's pool (connections to the server that went
    away, reconnection attempts still backing off): the new worker's tasks start from a fresh pool."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()
        connection.close_pool()
