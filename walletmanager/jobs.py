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

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from procrastinate import App, Blueprint, JobContext
from procrastinate.exceptions import ConnectorException

logger = logging.getLogger(__name__)

blueprint = Blueprint()

MAINTENANCE_QUEUE = "maintenance"
# Succeeded jobs are kept this long for the record, then purged; failed ones stay until someone looks.
FINISHED_JOB_RETENTION_HOURS = 7 * 24
# The dashboard links at most this many stalled jobs by id (normally there are none for long).
STALLED_IDS_SHOWN = 50


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


def every(seconds: int) -> str:
    """The cron expression of "every ``seconds``" (a divisor of a minute, or whole minutes dividing an
    hour); Procrastinate's cron takes seconds as a sixth field."""
    if seconds < 60:
        return f"* * * * * */{seconds}"
    return f"*/{seconds // 60} * * * *"


@blueprint.periodic(cron=every(settings.STALLED_JOBS_CHECK_SECONDS))
@blueprint.task(name="retry_stalled_jobs", queue=MAINTENANCE_QUEUE, pass_context=True)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Run again every job whose worker vanished mid-way (SPEC §18): ``doing``, under a worker that
    sent no heartbeat for JOB_STALLED_AFTER (killed, out of memory, its machine lost). Without this it
    would stay ``doing`` for ever: a webhook delivery caught in flight would never be sent."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=settings.JOB_STALLED_AFTER.total_seconds())
    for job in stalled:
        try:
            await manager.retry_job(job)
        except ConnectorException as moved_on:
            # Someone got there first (an operator's resend, the admin's retry): nothing left to do.
            logger.info("Stalled job %s was already dealt with: %s", job.id, moved_on)
            continue
        logger.warning("Retrying job %s (%s): its worker stopped sending heartbeats", job.id, job.call_string)


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


# The jobs left ``doing`` by a worker that stopped sending heartbeats (Procrastinate's own test,
# ``select_stalled_jobs_by_heartbeat``): its worker row is gone (pruned) or silent for too long.
_STALLED_JOBS_WHERE = """
    job.status = 'doing'
    AND (job.worker_id IS NULL OR job.worker_id IN (
        SELECT id FROM procrastinate_workers WHERE last_heartbeat < now() - %s::interval))
"""


def stalled_job_for(*, task_name: str, args: dict) -> int | None:
    """The id of the stalled job of ``task_name`` whose arguments include ``args``, locked for the
    caller's transaction so the periodic retry cannot retry it at the same time; None if none."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT job.id FROM procrastinate_jobs job WHERE {_STALLED_JOBS_WHERE}"
            " AND job.task_name = %s AND job.args @> %s::jsonb ORDER BY job.id LIMIT 1 FOR UPDATE OF job SKIP LOCKED",
            [settings.JOB_STALLED_AFTER, task_name, json.dumps(args)],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def job_retry_now(job_id: int) -> None:
    """Run a stalled (or failed) job again now, in the caller's transaction."""
    from procrastinate.contrib.django.django_connector import DjangoConnector
    from procrastinate.manager import JobManager

    JobManager(DjangoConnector()).retry_job_by_id(job_id, timezone.now())


@dataclass(frozen=True)
class JobQueueStatus:
    """What the dashboard shows of the background work: is a worker alive, and is work piling up."""

    last_heartbeat: datetime | None
    live_workers: int
    due: int  # jobs that should run now
    scheduled: int  # jobs waiting for a later time (webhook retries)
    running: int  # by a live worker
    failed: int
    oldest_due_at: datetime | None
    stalled: int = 0  # left running by a vanished worker: retried by retry_stalled_jobs
    stalled_ids: tuple[int, ...] = ()  # the first STALLED_IDS_SHOWN of them, for the dashboard's link

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
        # The stalled ones (Procrastinate's own test, as _STALLED_JOBS_WHERE) in the same scan.
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE job.status = 'todo'
                                      AND (job.scheduled_at IS NULL OR job.scheduled_at <= now())),
                   count(*) FILTER (WHERE job.status = 'todo' AND job.scheduled_at > now()),
                   count(*) FILTER (WHERE job.status = 'doing'),
                   count(*) FILTER (WHERE job.status = 'failed'),
                   (SELECT min(coalesce(due.scheduled_at, deferred.at))
                      FROM procrastinate_jobs due
                      JOIN procrastinate_events deferred ON deferred.job_id = due.id AND deferred.type = 'deferred'
                     WHERE due.status = 'todo' AND (due.scheduled_at IS NULL OR due.scheduled_at <= now())),
                   count(*) FILTER (WHERE job.status = 'doing' AND (job.worker_id IS NULL OR silent.id IS NOT NULL)),
                   (array_agg(job.id ORDER BY job.id)
                      FILTER (WHERE job.status = 'doing' AND (job.worker_id IS NULL OR silent.id IS NOT NULL)))[1:%s]
              FROM procrastinate_jobs job
              LEFT JOIN procrastinate_workers silent
                ON silent.id = job.worker_id AND silent.last_heartbeat < now() - %s::interval
            """,
            [STALLED_IDS_SHOWN, settings.JOB_STALLED_AFTER],
        )
        due, scheduled, running, failed, oldest_due_at, stalled, stalled_ids = cursor.fetchone()
    return JobQueueStatus(
        last_heartbeat,
        live_workers,
        due,
        scheduled,
        running - stalled,
        failed,
        oldest_due_at,
        stalled=stalled,
        stalled_ids=tuple(stalled_ids or ()),
    )
