"""Real threads, real connections, real PostgreSQL locks (SPEC §11)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from balances.models import Currency
from transactions import services
from transactions.models import ExchangeRate, Transaction
from walletmanager.exceptions import DomainError
from walletmanager.testing.ledger import (
    PIN,
    assert_ledger_consistent,
    deposit,
    make_wallet,
    position,
    seed_reference_data,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def reference_data():
    seed_reference_data()


def run_concurrently(functions):
    """Start every function at the same instant, each on its own thread and connection."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def worker(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as error:  # noqa: BLE001 - collected and asserted by the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung: deadlock?"
    return results


def test_twenty_withdrawals_of_ten_from_a_hundred_never_overdraw():
    wallet = make_wallet()
    deposit(wallet, "100")
    usd = Currency.objects.get(code="USD")

    def withdraw():
        return services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="10", pin=PIN)

    results = run_concurrently([withdraw] * 20)

    succeeded = [r for r in results if isinstance(r, Transaction)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(succeeded) == 10 and len(refused) == 10, results
    assert {r.code for r in refused} == {"insufficient_funds"}
    assert position(wallet) == (0, 0, 0)
    assert_ledger_consistent()


def test_opposite_transfers_never_deadlock_and_conserve_money():
    a, b = make_wallet(), make_wallet()
    deposit(a, "100")
    deposit(b, "100")
    usd = Currency.objects.get(code="USD")

    def transfer(source, target):
        return lambda: services.transaction_transfer(
            actor=source.owner, wallet=source, to_address=target.address, currency=usd, amount="1", pin=PIN
        )

    results = run_concurrently([transfer(a, b), transfer(b, a)] * 8)

    assert all(isinstance(r, Transaction) for r in results), results
    assert position(a)[0] + position(b)[0] == Decimal(200)
    assert position(a)[0] == Decimal(100)
    assert_ledger_consistent()


def test_opposite_exchanges_never_deadlock():
    owner_wallet = make_wallet(balance_kind="multi", currency=None)
    second = make_wallet(owner=owner_wallet.owner, balance_kind="multi", currency=None)
    for wallet in (owner_wallet, second):
        deposit(wallet, "100", "USD")
        deposit(wallet, "100", "EUR")
    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("1"))
    usd, eur = Currency.objects.get(code="USD"), Currency.objects.get(code="EUR")

    def exchange(source, target, from_currency, to_currency):
        return lambda: services.transaction_exchange(
            actor=source.owner,
            wallet=source,
            from_currency=from_currency,
            to_currency=to_currency,
            amount="1",
            to_wallet=target,
        )

    results = run_concurrently([exchange(owner_wallet, second, usd, eur), exchange(second, owner_wallet, eur, usd)] * 6)

    assert all(isinstance(r, Transaction) for r in results), results
    assert_ledger_consistent()


def test_concurrent_requests_with_one_idempotency_key_create_one_transaction():
    wallet = make_wallet()
    body = {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "7"}

    def post():
        client = APIClient()
        client.force_authenticate(wallet.owner)
        response = client.post("/api/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY="once")
        return response.status_code, response.json()

    results = run_concurrently([post] * 10)

    statuses = sorted(status for status, _ in results)
    assert Transaction.objects.count() == 1
    assert Transaction.objects.get().status == "pending"  # one deposit request, waiting for its money
    assert set(statuses) <= {201, 409} and 201 in statuses, results
    created = [payload for status, payload in results if status == 201]
    assert all(payload["id"] == created[0]["id"] for payload in created)
    assert all(payload["code"] == "idempotency_in_progress" for status, payload in results if status == 409)


def test_approve_and_cancel_race_resolves_once():
    wallet = make_wallet()
    deposit(wallet, "100")
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("10"))
    usd = Currency.objects.get(code="USD")
    pending = services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="50", pin=PIN)
    from users.tests.factories import StaffFactory

    staff = StaffFactory(groups=["Finance"])
    results = run_concurrently(
        [
            lambda: services.transaction_approve(actor=staff, transaction=pending),
            lambda: services.transaction_cancel(actor=wallet.owner, transaction=pending),
        ]
        * 3
    )

    assert sum(isinstance(r, Transaction) for r in results) == 1, results
    assert all(r.code == "invalid_state" for r in results if not isinstance(r, Transaction))
    assert_ledger_consistent()
