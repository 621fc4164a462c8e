"""Background jobs in operators' words (SPEC §8, issue 24): Procrastinate's own admin shows task code
names shortened (".seal_audit"), Unix times as arguments, status emoji that need a font, and filters on
locks that are always empty. This admin keeps its behaviour (read-only, retry and cancel) and says
what each job does, when it was due, and its status in words."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import admin
from django.utils.html import format_html
from procrastinate.contrib.django import models
from procrastinate.contrib.django.admin import ProcrastinateJobAdmin

# What each task does, as an operator would say it.
TASK_WORDS = {
    "expire_stale": "Expire old holds, deposits and requests",
    "purge_idempotency_keys": "Forget old idempotency keys",
    "purge_expired_tokens": "Delete expired API tokens",
    "seal_audit": "Seal the audit trail",
    "reconcile_nightly": "Check the ledger (reconcile)",
    "purge_finished_jobs": "Delete old finished jobs",
    "webhook_dispatch": "Send a webhook event to its endpoints",
    "webhook_deliver": "Deliver a webhook",
}

# What each argument is: periodic tasks get the Unix time they were due.
ARGUMENT_WORDS = {"timestamp": "due at", "event_id": "event", "delivery_id": "delivery"}


def task_in_words(task_name: str) -> str:
    name = task_name.rsplit(".", 1)[-1]
    return TASK_WORDS.get(name, name.replace("_", " ").capitalize())


def arguments_in_words(args: dict) -> str:
    """``{"timestamp": 1733620800}`` → "due at 2024-12-08 01:20 UTC"."""
    words = []
    for name, value in (args or {}).items():
        if name == "timestamp" and isinstance(value, int):
            value = f"{datetime.fromtimestamp(value, tz=UTC):%Y-%m-%d %H:%M} UTC"
        words.append(f"{ARGUMENT_WORDS.get(name, name.replace('_', ' '))} {value}")
    return "; ".join(words) or "—"


admin.site.unregister(models.ProcrastinateJob)


@admin.register(models.ProcrastinateJob)
class BackgroundJobAdmin(ProcrastinateJobAdmin):
    list_display = ["pk", "task", "arguments", "status_in_words", "summary"]
    # Locks are never set by this project's tasks: filters on them would always be empty.
    list_filter = ["status", "queue_name", "task_name", "scheduled_at"]
    fields = ["pk", "task", "arguments", "status_in_words", "queue_name", "priority", "scheduled_at", "attempts"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    @admin.display(description="Task", ordering="task_name")
    def task(self, job: models.ProcrastinateJob) -> str:
        return format_html('<span title="{}">{}</span>', job.task_name, task_in_words(job.task_name))

    @admin.display(description="Arguments")
    def arguments(self, job: models.ProcrastinateJob) -> str:
        return arguments_in_words(job.args)

    @admin.display(description="Status", ordering="status")
    def status_in_words(self, job: models.ProcrastinateJob) -> str:
        return job.status.replace("_", " ").capitalize()
