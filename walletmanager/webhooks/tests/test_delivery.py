"""Webhooks end to end (SPEC §15): registered through the API, published by real changes, delivered
by the real Procrastinate worker to a real receiver on 127.0.0.1, verified with the
``standardwebhooks`` library as a receiver in any language would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from balances.models import Currency
from transactions import services
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.database import database_env, owner_connection
from walletmanager.testing.jobs import run_jobs
from walletmanager.testing.ledger import PIN, deposit
from walletmanager.webhooks import services as webhooks
from walletmanager.webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def local_receivers_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def register(client: APIClient, url: str, events: list[str], **extra) -> dict:
    response = client.post("/api/webhooks/", {"url": url, "events": events, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def delivered(count: int):
    return lambda: WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).count() >= count


def test_a_client_hears_of_its_withdrawal_waiting_then_approved_signed_and_in_order(funded_wallet, webhook_receiver):
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("50"))
    client = api_as(funded_wallet.owner)
    endpoint = register(client, webhook_receiver.url, ["transaction.pending", "transaction.posted"])
    assert endpoint["secret"].startswith("whsec_") and endpoint["scope"] == "own"

    withdrawal = client.post(
        "/api/transactions/",
        {"kind": "withdrawal", "wallet": str(funded_wallet.pk), "currency": "USD", "amount": "60", "pin": PIN},
        format="json",
    ).json()
    assert withdrawal["status"] == "pending"
    finance = api_as(StaffFactory(groups=["Finance"]))
    assert (
        finance.post(f"/api/transactions/{withdrawal['id']}/approve/", {"reason": "known customer"}).status_code == 200
    )

    run_jobs(until=delivered(2))

    first, second = (request.verify(endpoint["secret"]) for request in webhook_receiver.wait_for(2))
    assert (first["type"], second["type"]) == ("transaction.pending", "transaction.posted")
    assert first["data"]["id"] == second["data"]["id"] == withdrawal["id"]
    assert (first["data"]["status"], second["data"]["status"], second["data"]["amount"]) == (
        "pending",
        "posted",
        "60.00",
    )
    assert "known customer" not in str(second) and "reason" not in second["data"]
    assert first["id"].startswith("evt_") and first["id"] != second["id"]
    assert webhook_receiver.requests[0].headers["webhook-id"] == first["id"]
    # The client reads the same log the operators do.
    log = client.get(f"/api/webhooks/{endpoint['id']}/deliveries/").json()["results"]
    assert [(row["type"], row["status"], [attempt["status_code"] for attempt in row["attempts"]]) for row in log] == [
        ("transaction.posted", "delivered", [200]),
        ("transaction.pending", "delivered", [200]),
    ]


def test_a_receiver_answering_500_sees_the_retries_with_the_same_id_until_it_accepts(wallet, webhook_receiver):
    webhook_receiver.respond(500, 502, 200)
    endpoint = register(api_as(wallet.owner), webhook_receiver.url, ["deposit.pending"])

    deposit(wallet, "10")
    run_jobs(until=delivered(1))

    requests = webhook_receiver.requests
    assert len(requests) == 3 and len({request.headers["webhook-id"] for request in requests}) == 1
    assert [request.verify(endpoint["secret"])["type"] for request in requests] == ["deposit.pending"] * 3
    delivery = WebhookDelivery.objects.get(event__type="deposit.pending")
    assert [(a.number, a.status_code) for a in delivery.attempts.all()] == [(1, 500), (2, 502), (3, 200)]
    assert delivery.status == "delivered" and delivery.delivered_at is not None
    assert delivery.attempts.first().response_excerpt == "ok"


def test_an_endpoint_failing_past_the_retry_window_is_disabled_then_enabled_and_resent(
    wallet, webhook_receiver, settings
):
    settings.WEBHOOK_RETRY_WINDOW = timedelta(seconds=0)
    webhook_receiver.respond(503)
    client = api_as(wallet.owner)
    endpoint = register(client, webhook_receiver.url, ["deposit.pending"])

    deposit(wallet, "10")
    run_jobs(until=lambda: WebhookDelivery.objects.filter(status="failed").exists())

    shown = client.get(f"/api/webhooks/{endpoint['id']}/").json()
    assert shown["is_active"] is False and "503" in shown["disabled_reason"] and "secret" not in shown
    assert AuditEvent.objects.filter(
        action="webhook.endpoint_disabled", target_id=str(endpoint["id"]), actor=None
    ).exists()
    deposit(wallet, "5")  # nothing is sent to a disabled endpoint
    run_jobs()
    assert WebhookDelivery.objects.count() == 1 and len(webhook_receiver.requests) == 1

    webhook_receiver.respond(200)
    assert client.post(f"/api/webhooks/{endpoint['id']}/enable/").json()["is_active"] is True
    manager = StaffFactory(groups=["Support"])
    manager.user_permissions.add(Permission.objects.get(codename="manage_webhooks"))
    webhooks.webhook_delivery_resend(actor=manager, delivery=WebhookDelivery.objects.get())
    run_jobs(until=delivered(1))

    assert [request.json()["type"] for request in webhook_receiver.requests] == ["deposit.pending", "deposit.pending"]
    assert {"webhook.endpoint_enabled", "webhook.delivery_resent"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_clients_hear_only_of_their_own_wallets_and_staff_with_manage_webhooks_of_all(wallet, webhook_receiver):
    stranger = UserFactory()
    register(api_as(stranger), webhook_receiver.url, ["*"])
    support = StaffFactory(groups=["Support"])
    refused = api_as(support).post(
        "/api/webhooks/", {"url": webhook_receiver.url, "events": ["*"], "scope": "all"}, format="json"
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    support.user_permissions.add(Permission.objects.get(codename="manage_webhooks"))
    support = type(support).objects.get(pk=support.pk)  # permissions are cached per user object
    everything = register(api_as(support), webhook_receiver.url, ["deposit.pending"], scope="all")

    deposit(wallet, "10")
    run_jobs()

    deliveries = WebhookDelivery.objects.select_related("endpoint")
    assert [(d.endpoint_id, d.event.type) for d in deliveries] == [(everything["id"], "deposit.pending")]
    assert webhook_receiver.requests[0].verify(everything["secret"])["data"]["wallet"] == str(wallet.pk)


def test_the_periodic_expiry_runs_in_the_worker_and_tells_the_client(funded_wallet, usd, webhook_receiver, settings):
    from procrastinate.contrib.django import app

    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("50"))
    usd.refresh_from_db()
    endpoint = register(api_as(funded_wallet.owner), webhook_receiver.url, ["transaction.expired"])
    pending = services.transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="60", pin=PIN
    )
    # Only the owner may move a pending withdrawal's date (the runtime role writes no transaction).
    with owner_connection() as owner:
        owner.execute(
            "UPDATE transactions_transaction SET created_at = %s WHERE id = %s",
            [pending.created_at - settings.HOLD_TTL - timedelta(minutes=1), pending.pk],
        )

    schedule = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert schedule["expire_stale"] == "* * * * *" and schedule["seal_audit"] == "* * * * *"
    assert schedule["purge_idempotency_keys"] == "7 * * * *" and schedule["reconcile_nightly"] == "30 2 * * *"
    app.tasks["expire_stale"].defer(timestamp=int(time.time()))  # what the periodic deferrer does each minute
    run_jobs(until=delivered(1))

    pending.refresh_from_db()
    assert pending.status == "expired"
    assert webhook_receiver.requests[0].verify(endpoint["secret"])["data"]["status"] == "expired"


def test_manage_py_procrastinate_worker_delivers_and_stops_on_sigterm(wallet, webhook_receiver):
    endpoint = register(api_as(wallet.owner), webhook_receiver.url, ["deposit.pending"])
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "procrastinate", "worker", "--queues", "webhooks"],
        env={**os.environ, "DJANGO_DEBUG": "1", "WEBHOOK_ALLOW_PRIVATE_URLS": "1", **database_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deposit(wallet, "10")
        (request,) = webhook_receiver.wait_for(1, timeout=60)
        assert request.verify(endpoint["secret"])["type"] == "deposit.pending"
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
