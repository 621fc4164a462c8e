"""SPEC §11 faults: a connection killed mid-transaction leaves no partial write; ``reconcile`` stays clean.

A money movement is one statement (``ledger.move``, SPEC §16), run here on a thread with its own
connection. The schema's owner holds the day's rollup rows of its kind and currency locked, so the
statement stops in the rollup trigger, right after its transaction row is written (uncommitted),
while the main thread kills the backend with ``pg_terminate_backend``. The movement must then fail
loudly and leave nothing behind.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import InterfaceError, OperationalError, connection
from rest_framework.test import APIClient

from balances.models import Currency
from transactions import services
from transactions.models import Entry, IdempotencyKey, Transaction
from transactions.reconciliation import reconcile
from walletmanager.models import AuditEvent
from walletmanager.testing.database import owner_connection, require_two_roles, runtime_connection
from walletmanager.testing.ledger import PIN, deposit, make_wallet, position, seed_reference_data

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = "fault-worker"
WAIT = 30  # seconds; every wait is bounded so a regression fails instead of hanging the run


@pytest.fixture(autouse=True)
def reference_data():
    require_two_roles()  # the owner holds the rollup rows
    seed_reference_data()


def ledger_snapshot(*wallets):
    return {
        "transactions": Transaction.objects.count(),
        "entries": Entry.objects.count(),
        "audit events": AuditEvent.objects.count(),
        "positions": [position(wallet) for wallet in wallets],
    }


def backend_is_gone(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] == 0


def kill_mid_transaction(movement, *, kind: str, currency: str = "USD"):
    """Run ``movement`` on its own thread and connection, stop its statement half-way (after its
    transaction row is written, waiting for the day's rollup rows of ``kind`` and ``currency``, which
    the owner holds locked), terminate its backend there, and return what the movement raised or
    returned."""
    outcome = {}

    def worker():
        try:
            outcome["result"] = movement()
        except Exception as error:  # noqa: BLE001 - asserted by the test
            outcome["result"] = error
        finally:
            try:
                connection.close()
            except (InterfaceError, OperationalError):  # the backend was terminated: closing may fail too
                pass

    thread = threading.Thread(target=worker, name=WORKER)
    with owner_connection() as owner:
        # Every shard of today's row (a session writes the shard of its backend pid), locked until rollback.
        owner.execute(
            "INSERT INTO transactions_dailyvolume (day, kind, currency_id, shard, transactions, amount, posted)"
            " SELECT (now() AT TIME ZONE 'UTC')::date, %s, %s, shard, 0, 0, 0 FROM generate_series(0, 15) AS shard"
            " ON CONFLICT (day, kind, currency_id, shard)"
            " DO UPDATE SET transactions = transactions_dailyvolume.transactions",
            [kind, currency],
        )
        try:
            thread.start()
            pid = _wait_for(
                lambda: peek(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                    ["%ledger.move(%"],
                ),
                "the movement never waited half-way through its statement",
            )
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                assert cursor.fetchone()[0] is True
        finally:
            owner.rollback()
            thread.join(timeout=WAIT)
    assert not thread.is_alive(), "the killed movement hung"
    # pg_terminate_backend only signals; wait (bounded) until the backend has rolled back and exited.
    _wait_for(lambda: backend_is_gone(pid) or None, "the terminated backend did not exit")
    return outcome["result"]


def peek(sql: str, params) -> object:
    # As the runtime role: pg_stat_activity shows a session's state to its own role (and superusers).
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _wait_for(probe, message: str):
    deadline = time.monotonic() + WAIT
    while (value := probe()) is None:
        assert time.monotonic() < deadline, message
        time.sleep(0.05)
    return value


def test_a_transfer_whose_connection_dies_mid_transaction_writes_nothing():
    sender, receiver = make_wallet(), make_wallet()
    deposit(sender, "100")
    deposit(receiver, "20")
    usd = Currency.objects.get(code="USD")
    before = ledger_snapshot(sender, receiver)

    result = kill_mid_transaction(
        lambda: services.transaction_transfer(
            actor=sender.owner, wallet=sender, to_address=receiver.address, currency=usd, amount="30", pin=PIN
        ),
        kind="transfer",
    )

    assert isinstance(result, (OperationalError, InterfaceError)), f"the movement did not fail: {result!r}"
    assert ledger_snapshot(sender, receiver) == before
    assert position(sender) == (Decimal(100), 0, Decimal(100))
    assert position(receiver) == (Decimal(20), 0, Decimal(20))
    assert not Transaction.objects.filter(kind=Transaction.Kind.TRANSFER).exists()
    report = reconcile()
    assert report.is_clean, report.as_dict()
    # The same transfer on a healthy connection still goes through: nothing was left locked.
    services.transaction_transfer(
        actor=sender.owner, wallet=sender, to_address=receiver.address, currency=usd, amount="30", pin=PIN
    )
    assert position(receiver)[0] == Decimal(50)
    assert reconcile().is_clean


def test_an_idempotent_request_whose_connection_dies_can_be_retried_and_posts_once():
    wallet = make_wallet()
    deposit(wallet, "100")
    body = {"kind": "withdrawal", "wallet": str(wallet.pk), "currency": "USD", "amount": "25", "pin": PIN}
    key = "killed-mid-flight"
    before = ledger_snapshot(wallet)

    def post():
        client = APIClient()
        client.force_authenticate(wallet.owner)
        return client.post("/api/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    result = kill_mid_transaction(post, kind="withdrawal")

    # A lost connection is no bug: 503 service_unavailable with Retry-After, never a 500.
    assert result.status_code == 503, result.content
    assert result.json() == {"code": "service_unavailable", "detail": "The service is unavailable. Retry later."}
    assert int(result["Retry-After"]) >= 1
    assert ledger_snapshot(wallet) == before
    assert reconcile().is_clean
    # The claim was committed on its own before the movement began, so it survives without a response.
    claim = IdempotencyKey.objects.get(user=wallet.owner, key=key)
    assert claim.response_status is None

    # Nothing holds the claim's row lock any more: a retry at once takes the dead request's claim over.
    client = APIClient()
    client.force_authenticate(wallet.owner)
    retried = client.post("/api/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert retried.status_code == 201, retried.json()
    assert retried.json()["amount"] == "25.00" and retried.json()["status"] == "posted"
    assert "Idempotent-Replayed" not in retried
    replayed = client.post("/api/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert replayed.status_code == 201
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == retried.json()["id"]

    assert Transaction.objects.count() == before["transactions"] + 1
    assert position(wallet)[0] == Decimal(75)
    assert reconcile().is_clean


def test_a_request_on_a_connection_the_server_dropped_answers_503_and_the_next_one_works():
    """The backend behind the web process's connection dies between two requests (a PostgreSQL restart,
    a failover, an operator's pg_terminate_backend): that request is 503, not a 500."""
    wallet = make_wallet()
    deposit(wallet, "100")
    client = APIClient()
    client.force_authenticate(wallet.owner)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with runtime_connection() as other:  # the same role as the web process, as in production
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0] is True
    deadline = time.monotonic() + WAIT
    while not backend_gone_seen_from_another_connection(pid):
        assert time.monotonic() < deadline, "the terminated backend did not exit"
        time.sleep(0.05)

    try:
        response = client.get(f"/api/wallets/{wallet.pk}/")
    finally:
        connection.close()  # the test client keeps the dead connection; the web server's request end drops it

    assert response.status_code == 503, response.content
    assert response.json()["code"] == "service_unavailable"
    assert int(response["Retry-After"]) >= 1
    again = client.get(f"/api/wallets/{wallet.pk}/")
    assert again.status_code == 200
    assert again.json()["balance"]["assets"][0]["posted"] == "100.00"


def test_a_database_that_refuses_connections_answers_503(monkeypatch):
    wallet = make_wallet()
    client = APIClient()
    client.force_authenticate(wallet.owner)
    body = {"kind": "withdrawal", "wallet": str(wallet.pk), "currency": "USD", "amount": "1", "pin": PIN}
    connection.close()
    connection.close_pool()
    # Nothing listens on port 1: connecting fails the way it does while PostgreSQL is down. The pool
    # (made afresh with these parameters) tries for its timeout, then gives up.
    real_params = connection.get_connection_params
    monkeypatch.setattr(connection, "get_connection_params", lambda: {**real_params(), "host": "127.0.0.1", "port": 1})
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "pool", {"min_size": 0, "max_size": 2, "timeout": 1})
    try:
        response = client.post("/api/transactions/", body, format="json")
    finally:
        monkeypatch.undo()
        connection.close()
        connection.close_pool()

    assert response.status_code == 503, response.content
    assert response.json()["code"] == "service_unavailable"
    assert int(response["Retry-After"]) >= 1
    assert not Transaction.objects.filter(kind=Transaction.Kind.WITHDRAWAL).exists()


def backend_gone_seen_from_another_connection(pid: int) -> bool:
    with runtime_connection() as other:
        return other.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0] == 0
