"""``manage.py check_workers``: the background workers' health check (SPEC §18), for a monitoring
system or a systemd timer: exit 0 when enough workers sent a heartbeat lately and no job stalled."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError

from walletmanager.commands import OperatorCommand
from walletmanager.jobs import job_queue_status


class Command(OperatorCommand):
    help = (
        "Exit 0 when at least --min-workers workers sent a heartbeat within WORKER_STALE_AFTER_SECONDS and no job "
        "is stalled; else print what is wrong and exit 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("--min-workers", type=int, default=1, help="Workers that must be alive (default 1).")

    def run(self, *args, **options):
        if options["min_workers"] < 0:
            raise CommandError("--min-workers must be 0 or more.")
        status = job_queue_status()
        summary = (
            f"{status.live_workers} worker(s) alive, {status.due} job(s) due, {status.running} running, "
            f"{status.stalled} stalled, {status.failed} failed"
        )
        problems = []
        if status.live_workers < options["min_workers"]:
            stale = int(settings.WORKER_STALE_AFTER.total_seconds())
            problems.append(f"fewer than {options['min_workers']} worker(s) sent a heartbeat in the last {stale} s")
        if status.stalled:
            problems.append(f"{status.stalled} job(s) stalled (their worker vanished; retry_stalled_jobs runs them)")
        if problems:
            raise CommandError(f"{summary}: {'; '.join(problems)}.")
        self.stdout.write(summary)
