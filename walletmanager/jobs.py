"""Background work (SPEC §15): the periodic schedule, run by Procrastinate workers.

Procrastinate's queue is a table in our own database, so a job deferred inside a service's
``transaction.atomic()`` commits or rolls back with the change (the outbox of ``walletmanager.webhooks``
relies on it), and any number of ``manage.py procrastinate worker`` processes on any number of
machines share the work. Periodic jobs are deferred once per tick however many workers run: each tick
is claimed by one row of ``procrastinate_periodic_defers``.

Every task here is a thin call of the service its management command also calls; domains are imported
inside the task, so the kernel keeps no import-time arrow pointing up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from procrastinate import App, Blueprint, JobContext

logger = logging.getLogger(__name__)

blueprint = Blueprint()

MAINTENANCE_QUEUE = "maintenance"
# Succeeded jobs are kept this long for the record, then purged; failed ones stay until someone looks.
FINISHED_JOB_RETENTION_HOURS = 7 * 24


@blueprint.periodic(cron="* * * * *")
@blueprint.task(name="expire_stale", queue=MAINTENANCE_QUEUE)
def expire_stale(timestamp: int) -> None:
    """Every minute: what ``manage.py expire_holds`` does (holds, deposits, approval requests)."""
    from transactions.deposits import deposit_expire_stale
    from transactions.services import transaction_expire_holds
    from walletmanager.approvals.services import approval_expire_stale

    withdrawals, deposits, approvals = transaction_expire_holds(), deposit_expire_stale(), approval_expire_stale()
    if withdrawals or deposits or approvals:
        logger.info("Expired %s withdrawals, %s deposits, %s approval requests", withdrawals, deposits, approvals)


@blueprint.periodic(cron="7 * * * *")
@blueprint.task(name="purge_idempotency_keys", queue=MAINTENANCE_QUEUE)
def purge_idempotency_keys(timestamp: int) -> None:
    """Hourly: forget idempotency keys older than IDEMPOTENCY_KEY_TTL."""
    from transactions.idempotency import idempotency_purge_expired

    logger.info("Purged %s expired idempotency keys", idempotency_purge_expired())


@blueprint.periodic(cron="37 * * * *")
@blueprint.task(name="purge_expired_tokens", queue=MAINTENANCE_QUEUE)
def purge_expired_tokens(timestamp: int) -> None:
    """Hourly: delete expired API tokens (a request no longer sweeps its user's other tokens: see
    ``walletmanager.api.authentication``)."""
    from users.services import auth_token_purge_expired

    logger.info("Purged %s expired API tokens", auth_token_purge_expired())


@blueprint.periodic(cron="* * * * *")
@blueprint.task(name="seal_audit", queue=MAINTENANCE_QUEUE)
def seal_audit(timestamp: int) -> None:
    """Every minute: seal the audit events written since the last block (``manage.py seal_audit``)."""
    from walletmanager.audit_seal import audit_seal
    from walletmanager.exceptions import AuditSealDeferred

    try:
        audit_seal()
    except AuditSealDeferred as deferred:
        logger.warning("%s The next run tries again.", deferred.detail)


@blueprint.periodic(cron="30 2 * * *")
@blueprint.task(name="reconcile_nightly", queue=MAINTENANCE_QUEUE)
def reconcile_nightly(timestamp: int) -> None:
    """Nightly: ``manage.py reconcile``; its stored run is what the dashboard shows."""
    from transactions.reconciliation import reconcile

    report = reconcile()
    if not report.is_clean:
        logger.error("Nightly reconciliation found drift:\n%s", report.as_text())


@blueprint.periodic(cron="17 3 * * *")
@blueprint.task(name="purge_finished_jobs", queue=MAINTENANCE_QUEUE, pass_context=True)
async def purge_finished_jobs(context: JobContext, timestamp: int) -> None:
    """Daily: delete jobs that succeeded more than a week ago (failed jobs stay for the dashboard)."""
    await context.app.job_manager.delete_old_jobs(nb_hours=FINISHED_JOB_RETENTION_HOURS)


def on_app_ready(app: App) -> None:
    """``PROCRASTINATE_ON_APP_READY``: give Procrastinate's app the schedule and the webhook tasks."""
    from walletmanager.webhooks import tasks as webhook_tasks

    app.add_tasks_from(blueprint, namespace="")
    app.add_tasks_from(webhook_tasks.blueprint, namespace="")


def defer_in_transaction(task, *, schedule_in: dict | None = None, **task_kwargs) -> int:
    """Defer ``task`` through Django's connection, so the job commits or rolls back with the caller's
    transaction (the outbox). The app's own connector is a separate pool inside a worker process,
    where a job deferred through it would commit on its own, possibly before the change it reports."""
    from procrastinate.contrib.django.django_connector import DjangoConnector
    from procrastinate.jobs import JobDeferrer
    from procrastinate.manager import JobManager

    options = {"schedule_in": schedule_in} if schedule_in else {}
    job = task.configure(**options).job
    return JobDeferrer(JobManager(DjangoConnector()), job).defer(**task_kwargs)


@dataclass(frozen=True)
class JobQueueStatus:
    """What the dashboard shows of the background work: is a worker alive, and is work piling up."""

    last_heartbeat: datetime | None
    live_workers: int
    due: int  # jobs that should run now
    scheduled: int  # jobs waiting for a later time (webhook retries)
    running: int
    failed: int
    oldest_due_at: datetime | None

    @property
    def worker_alive(self) -> bool:
        return self.live_workers > 0


def job_queue_status() -> JobQueueStatus:
    """Workers' heartbeats and the queue's depth, in two aggregate queries."""
    stale_before = timezone.now() - settings.WORKER_STALE_AFTER
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(last_heartbeat), count(*) FILTER (WHERE last_heartbeat >= %s) FROM procrastinate_workers",
            [stale_before],
        )
        last_heartbeat, live_workers = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())),
                   count(*) FILTER (WHERE status = 'todo' AND scheduled_at > now()),
                   count(*) FILTER (WHERE status = 'doing'),
                   count(*) FILTER (WHERE status = 'failed'),
                   (SELECT min(coalesce(job.scheduled_at, deferred.at))
                      FROM procrastinate_jobs job
                      JOIN procrastinate_events deferred ON deferred.job_id = job.id AND deferred.type = 'deferred'
                     WHERE job.status = 'todo' AND (job.scheduled_at IS NULL OR job.scheduled_at <= now()))
              FROM procrastinate_jobs
            """
        )
        due, scheduled, running, failed, oldest_due_at = cursor.fetchone()
    return JobQueueStatus(last_heartbeat, live_workers, due, scheduled, running, failed, oldest_due_at)
