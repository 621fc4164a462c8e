"""A delivery caught by a worker that vanished (SPEC §18). Tried: two ``webhook_deliver`` jobs stayed
``doing`` with no worker; their deliveries stayed ``pending``, ``resend`` refused them, and one event
never reached its receiver. Here the dead worker is what a ``kill -9`` leaves in the queue (a job
``doing`` under a worker whose heartbeats stopped); the worker that really dies mid-delivery is in
``walletmanager/tests/test_keeps_serving.py``."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from rest_framework.test import APIClient

from users.tests.factories import StaffFactory
from walletmanager.exceptions import InvalidState
from walletmanager.models import AuditEvent
from walletmanager.testing.jobs import abandon_next_job, job_status, run_jobs
from walletmanager.testing.ledger import deposit
from walletmanager.webhooks import services as webhooks
from walletmanager.webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def local_receivers_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True


@pytest.fixture(autouse=True)
def no_abandoned_job_outlives_the_test():
    """Procrastinate's tables are not Django's (the flush between tests leaves them): the jobs these
    tests leave ``doing`` would turn up as stalled in every later test."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE status = 'doing'")
        cursor.execute("DELETE FROM procrastinate_workers")


def register(owner, url: str) -> dict:
    client = APIClient()
    client.force_authenticate(owner)
    response = client.post("/api/webhooks/", {"url": url, "events": ["deposit.pending"]}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def caught_in_flight(wallet, webhook_receiver) -> tuple[dict, WebhookDelivery, int]:
    """A deposit's event fanned out, then its delivery job taken by a worker that died."""
    endpoint = register(wallet.owner, webhook_receiver.url)
    deposit(wallet, "10")
    webhooks.webhook_event_dispatch(event_id=str(WebhookEvent.objects.get().pk))  # what the dispatch job does
    job = abandon_next_job(task="webhook_deliver")
    assert webhook_receiver.requests == []
    return endpoint, WebhookDelivery.objects.get(), job


def retry_stalled_now() -> None:
    """What the periodic deferrer does every STALLED_JOBS_CHECK_SECONDS."""
    from procrastinate.contrib.django import app

    app.tasks["retry_stalled_jobs"].defer(timestamp=int(time.time()))


def test_the_periodic_check_retries_a_stalled_delivery_and_it_arrives_with_its_webhook_id(wallet, webhook_receiver):
    endpoint, delivery, job = caught_in_flight(wallet, webhook_receiver)
    assert job_status(job) == "doing" and delivery.status == "pending"

    retry_stalled_now()
    run_jobs(until=lambda: WebhookDelivery.objects.filter(status="delivered").exists())

    (request,) = webhook_receiver.requests
    assert request.verify(endpoint["secret"])["type"] == "deposit.pending"
    assert request.headers["webhook-id"] == delivery.event.public_id
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempt_count == 1
    assert job_status(job) == "succeeded"


def test_a_job_whose_worker_still_beats_is_left_alone(wallet, webhook_receiver):
    _, delivery, job = caught_in_flight(wallet, webhook_receiver)
    with connection.cursor() as cursor:  # its worker is alive: a heartbeat just now
        cursor.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now()"
            " WHERE id = (SELECT worker_id FROM procrastinate_jobs WHERE id = %s)",
            [job],
        )

    retry_stalled_now()
    run_jobs()

    assert job_status(job) == "doing" and webhook_receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    with pytest.raises(InvalidState, match="still being retried"):
        webhooks.webhook_delivery_resend(actor=_webhook_manager(), delivery=delivery)


def test_resend_works_on_a_stalled_delivery_and_sends_it_once(wallet, webhook_receiver):
    endpoint, delivery, job = caught_in_flight(wallet, webhook_receiver)
    manager = _webhook_manager()

    webhooks.webhook_delivery_resend(actor=manager, delivery=delivery)
    assert job_status(job) == "todo"  # the stalled job itself runs again, no second job beside it
    retry_stalled_now()  # the periodic check finds nothing left to do
    run_jobs(until=lambda: WebhookDelivery.objects.filter(status="delivered").exists())
    run_jobs()

    (request,) = webhook_receiver.requests
    assert request.headers["webhook-id"] == delivery.event.public_id
    assert request.verify(endpoint["secret"])["type"] == "deposit.pending"
    event = AuditEvent.objects.get(action="webhook.delivery_resent")
    assert event.actor == manager and event.data["stalled_job"] == job


def test_the_dashboard_counts_stalled_jobs_and_links_them(admin_client, wallet, webhook_receiver):
    _, _, job = caught_in_flight(wallet, webhook_receiver)

    page = admin_client.get("/admin/").content.decode()

    assert "1 stalled job</strong>" in page
    assert f"/admin/procrastinate/procrastinatejob/?id__in={job}" in page
    queue = " ".join(page[page.index('id="job-queue"') :].split()[:40])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'")
        (doing,) = cursor.fetchone()
    assert f", {doing - 1} running," in queue, queue  # the stalled job is not counted as running
    listed = admin_client.get(f"/admin/procrastinate/procrastinatejob/?id__in={job}")
    assert listed.status_code == 200
    assert [row.pk for row in listed.context["cl"].result_list] == [job]


def _webhook_manager():
    manager = StaffFactory(groups=["Support"])
    manager.user_permissions.add(Permission.objects.get(codename="manage_webhooks"))
    return type(manager).objects.get(pk=manager.pk)


def test_check_workers_is_the_health_check_no_live_worker_or_a_stalled_job_fails_it(wallet, webhook_receiver):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_workers")
    with pytest.raises(CommandError, match=r"0 worker\(s\) alive.*fewer than 1 worker\(s\) sent a heartbeat"):
        call_command("check_workers")

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now())")
    healthy = StringIO()
    call_command("check_workers", stdout=healthy)
    assert healthy.getvalue().startswith("1 worker(s) alive") and "0 stalled" in healthy.getvalue()

    caught_in_flight(wallet, webhook_receiver)
    with pytest.raises(CommandError, match=r"1 job\(s\) stalled"):
        call_command("check_workers")
