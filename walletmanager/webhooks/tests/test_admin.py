"""Webhooks and background work as operators see them in the admin (SPEC §15)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from users.tests.factories import StaffFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import deposit, make_wallet
from walletmanager.testing.two_factor import verified_staff_login
from walletmanager.webhooks import services
from walletmanager.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_delivery(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    wallet = make_wallet()
    endpoint = services.webhook_endpoint_create(
        actor=wallet.owner, url="http://127.0.0.1:9/hooks", events=["deposit.pending"]
    )
    deposit(wallet, "10")
    (delivery,) = services.webhook_event_dispatch(event_id=_event_id("deposit.pending"))
    WebhookAttempt.objects.create(
        delivery=delivery, number=1, status_code=500, duration_ms=12, response_excerpt="<h1>down</h1>"
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempt_count=1, last_status_code=500)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason="Deliveries failed for 1 day"
    )
    return WebhookDelivery.objects.get(pk=delivery.pk)


def _event_id(event_type: str) -> str:
    from walletmanager.webhooks.models import WebhookEvent

    return str(WebhookEvent.objects.get(type=event_type).pk)


def test_the_delivery_page_shows_every_attempt_and_the_payload_but_never_the_secret(admin_client, failed_delivery):
    page = admin_client.get(f"/admin/webhooks/webhookdelivery/{failed_delivery.pk}/change/").content.decode()

    assert "deposit.pending" in page and failed_delivery.event.public_id in page
    assert "500" in page and "12 ms" in page and "&lt;h1&gt;down&lt;/h1&gt;" in page  # escaped, never rendered
    assert failed_delivery.endpoint.secret not in page
    endpoint_page = admin_client.get(
        f"/admin/webhooks/webhookendpoint/{failed_delivery.endpoint_id}/change/"
    ).content.decode()
    assert "Deliveries failed for 1 day" in endpoint_page and failed_delivery.endpoint.secret not in endpoint_page


def test_an_operator_enables_the_endpoint_then_resends_and_both_are_audited(admin_client, admin_user, failed_delivery):
    endpoint = failed_delivery.endpoint
    admin_client.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": "enable_endpoints", "_selected_action": [endpoint.pk], "apply": "1", "reason": "receiver fixed"},
    )
    admin_client.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "resend_deliveries", "_selected_action": [failed_delivery.pk], "apply": "1", "reason": ""},
    )

    endpoint.refresh_from_db()
    failed_delivery.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""
    assert failed_delivery.status == "pending"
    enabled = AuditEvent.objects.get(action="webhook.endpoint_enabled")
    assert (enabled.actor, enabled.reason) == (admin_user, "receiver fixed")
    assert AuditEvent.objects.filter(action="webhook.delivery_resent", actor=admin_user).exists()


def test_operators_without_manage_webhooks_cannot_resend(client, failed_delivery):
    verified_staff_login(client, StaffFactory(groups=["Finance"]))

    client.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "resend_deliveries", "_selected_action": [failed_delivery.pk], "apply": "1"},
    )

    failed_delivery.refresh_from_db()
    assert failed_delivery.status == "failed"
    assert not AuditEvent.objects.filter(action="webhook.delivery_resent").exists()


def _worker_heartbeat(at):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (%s)", [at])


def test_the_dashboard_says_at_a_glance_when_no_worker_runs(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "No worker</strong> has run yet" in page

    _worker_heartbeat(timezone.now() - timedelta(minutes=10))
    page = admin_client.get("/admin/").content.decode()
    assert "No worker running</strong> — last seen 10\xa0minutes ago" in page


def test_the_dashboard_shows_live_workers_queue_depth_and_failed_jobs(admin_client):
    from procrastinate.contrib.django import app

    _worker_heartbeat(timezone.now())
    app.tasks["purge_idempotency_keys"].defer(timestamp=0)
    app.tasks["reconcile_nightly"].defer(timestamp=0)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'failed' WHERE task_name = 'reconcile_nightly'")

    page = admin_client.get("/admin/").content.decode()

    assert "1 worker running" in page
    assert "<strong>1</strong> job due" in page
    assert "1 failed job" in page and "status__exact=failed" in page
