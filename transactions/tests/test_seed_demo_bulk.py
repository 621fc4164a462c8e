"""The set-based fast path of ``seed_demo``: what it writes is what the services would have written."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from transactions.models import Entry, Transaction
from transactions.reconciliation import reconcile
from walletmanager.models import AuditEvent


@pytest.fixture(autouse=True)
def _development_machine(settings):
    """seed_demo publishes logins: it runs only with DJANGO_DEBUG on (SPEC §13)."""
    settings.DEBUG = True


def bulk_demo_transactions():
    return Transaction.objects.filter(description="demo", created_by__isnull=False, entries__isnull=False).distinct()


@pytest.mark.django_db(transaction=True)  # the bulk history is written as the owner, outside any transaction
def test_bulk_seed_tops_up_to_the_target_and_leaves_the_ledger_clean():
    out = StringIO()
    call_command("seed_demo", "--users", "3", "--transactions", "600", stdout=out)

    assert Transaction.objects.filter(description="demo").count() == 600
    assert "demo transactions" in out.getvalue() or "Wrote" in out.getvalue()
    kinds = dict(
        Transaction.objects.filter(description="demo", status="posted").values_list("kind").annotate(n=Count("id"))
    )
    assert {"deposit", "withdrawal", "transfer"} <= set(kinds)
    report = reconcile()
    assert report.is_clean, report.as_text()

    # Transfers pay the demo fee rule (50 bps, rounded up to the cent) into the fees wallet.
    transfer = Transaction.objects.filter(description="demo", kind="transfer").order_by("amount").last()
    expected_fee = (transfer.amount * Decimal("0.005")).quantize(Decimal("0.01"), rounding="ROUND_UP")
    assert transfer.fee == expected_fee
    legs = dict(Entry.objects.filter(transaction=transfer).values_list("wallet_id", "amount"))
    assert legs[transfer.wallet_id] == -(transfer.amount + transfer.fee)
    assert legs[transfer.to_wallet_id] == transfer.amount
    assert sum(legs.values()) == 0

    # One audit event per bulk transaction, named as the transaction_posted receiver would have.
    assert AuditEvent.objects.filter(
        target_type="transactions.transaction", target_id=str(transfer.pk), action="transfer.posted"
    ).exists()

    call_command("seed_demo", "--users", "3", "--transactions", "600", stdout=StringIO())
    assert Transaction.objects.filter(description="demo").count() == 600

    call_command("seed_demo", "--users", "3", "--transactions", "900", stdout=StringIO())
    assert Transaction.objects.filter(description="demo").count() == 900
    assert reconcile().is_clean
    assert Entry.objects.values("transaction_id").annotate(total=Sum("amount")).exclude(total=0).count() == 0


@pytest.mark.django_db
def test_seed_demo_leaves_withdrawals_waiting_for_approval():
    call_command("seed_demo", "--users", "1", "--transactions", "0", stdout=StringIO())
    pending = Transaction.objects.filter(status="pending", kind="withdrawal", description="demo")
    assert pending.count() == 3
    assert pending.filter(wallet__owner__email="client@walletmanager.test").exists()
    call_command("seed_demo", "--users", "1", "--transactions", "0", stdout=StringIO())
    assert pending.count() == 3
    assert reconcile().is_clean
