"""``manage.py worker``: the background worker that keeps running through database outages (SPEC §18).

Procrastinate's own ``manage.py procrastinate worker`` stops, with exit status 0, when PostgreSQL
restarts; this one waits for the database and starts it again, and exits 1 only when the database
stays unreachable for ``--give-up-after`` seconds (``walletmanager.worker_supervision``)."""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.core.management.base import CommandError

from walletmanager.commands import OperatorCommand


class Command(OperatorCommand):
    help = (
        "Run a background worker (jobs, webhooks, periodic tasks) that reconnects with backoff when the database "
        "goes away. Exit status 0 on SIGTERM/SIGINT, 1 when it gives up."
    )

    def add_arguments(self, parser):
        parser.add_argument("--queues", default="", help="Comma-separated queues to work on (default: every queue).")
        parser.add_argument("--concurrency", type=int, default=1, help="Jobs run at once (default 1).")
        parser.add_argument("--name", default="worker", help="The worker's name in logs and job contexts.")
        parser.add_argument(
            "--give-up-after",
            type=float,
            default=None,
            help="Seconds without a working database before exiting 1 (default WORKER_GIVE_UP_SECONDS, 300).",
        )

    def run(self, *args, **options):
        from procrastinate.contrib.django import app
        from procrastinate.contrib.django.utils import connector_params

        from walletmanager.worker_supervision import WorkerSupervisor

        give_up_after = options["give_up_after"]
        if give_up_after is None:
            give_up_after = settings.WORKER_GIVE_UP_SECONDS
        if not give_up_after > 0:
            raise CommandError("--give-up-after must be a number of seconds above 0.")
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be 1 or more.")
        queues = [queue.strip() for queue in options["queues"].split(",") if queue.strip()] or None
        with app.replace_connector(app.connector.get_worker_connector()):
            supervisor = WorkerSupervisor(
                app=app,
                connection_params=connector_params(),
                worker_options={"queues": queues, "concurrency": options["concurrency"], "name": options["name"]},
                give_up_after=give_up_after,
            )
            status = asyncio.run(supervisor.run())
        if status:
            raise CommandError(f"Gave up: the database stayed unreachable for {give_up_after:.0f} s.")
