"""``reconcile``: clean after money moved through the ledger, loud and specific after drift.

Drift is created the way a real incident would: raw SQL around the ORM and the services."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from balances.models import BalanceAsset, Currency
from balances.tests.factories import BalanceAssetFactory, WalletWithBalanceFactory
from transactions.models import Entry, ReconciliationRun, Transaction
from transactions.reconciliation import ROW_CAP, reconcile, reconciliation_last_run
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def post_balanced(*, kind: str, legs: list[tuple[Wallet, str, Decimal]], status: str = "posted") -> Transaction:
    """Write a posted transaction and its legs, and move client assets' ``posted`` with them —
    exactly the rows a service writes, for tests that must not depend on the services."""
    first_wallet, currency, amount = next((leg for leg in legs if leg[0].system_role is None), legs[0])
    transaction = Transaction.objects.create(
        kind=kind, status=status, wallet=first_wallet, currency_id=currency, amount=abs(amount),
        posted_at=timezone.now(),
    )
    for wallet, code, leg_amount in legs:
        Entry.objects.create(transaction=transaction, wallet=wallet, currency_id=code, amount=leg_amount)
        if wallet.system_role is None:
            asset, _ = BalanceAsset.objects.get_or_create(balance=wallet.balance, currency_id=code)
            asset.posted += leg_amount
            asset.save(update_fields=["posted"])
    return transaction


@pytest.fixture
def external() -> Wallet:
    return Wallet.objects.get(system_role="external")


@pytest.fixture
def fees() -> Wallet:
    return Wallet.objects.get(system_role="fees")


@pytest.fixture
def funded_wallet(external, fees) -> Wallet:
    wallet = WalletWithBalanceFactory()
    post_balanced(kind="deposit", legs=[(external, "USD", Decimal("-100")), (wallet, "USD", Decimal("99")), (fees, "USD", Decimal("1"))])
    return wallet


def check(report, name):
    return next(result for result in report.checks if result.name == name)


def test_a_balanced_ledger_is_clean_and_the_run_is_stored(funded_wallet, external):
    other = WalletWithBalanceFactory()
    post_balanced(kind="transfer", legs=[(funded_wallet, "USD", Decimal("-40")), (other, "USD", Decimal("40"))])

    report = reconcile()

    assert report.is_clean, report.as_text()
    assert "Result: CLEAN" in report.as_text()
    totals = {currency: (clients, system) for currency, clients, system in report.totals}
    assert totals["USD"] == (Decimal("99"), Decimal("-99"))
    run = reconciliation_last_run()
    assert run.is_clean is True
    assert run.report["is_clean"] is True
    assert {check["name"] for check in run.report["checks"]} >= {"entries_zero_sum", "posted_matches_entries"}


def test_command_exits_zero_and_prints_ok_when_clean(funded_wallet, capsys):
    call_command("reconcile")

    out = capsys.readouterr().out
    assert "OK     posted_matches_entries" in out
    assert "Result: CLEAN" in out


def test_posted_changed_behind_the_ledger_is_drift_naming_the_asset(funded_wallet, capsys):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE balances_balanceasset SET posted = posted + 1")
    asset = BalanceAsset.objects.get(balance__wallet=funded_wallet)

    with pytest.raises(SystemExit) as exit_info:
        call_command("reconcile")

    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "DRIFT  posted_matches_entries" in out
    assert str(asset.pk) in out and funded_wallet.address in out
    assert "DRIFT  currency_totals_zero" in out
    assert "Result: DRIFT FOUND" in out
    run = ReconciliationRun.objects.latest("started_at")
    assert run.is_clean is False
    drift = next(check for check in run.report["checks"] if check["name"] == "posted_matches_entries")
    assert drift["count"] == 1 and drift["rows"][0][0] == asset.pk


def test_entries_in_a_currency_without_an_asset_row_are_drift(funded_wallet):
    BalanceAsset.objects.filter(balance__wallet=funded_wallet).delete()

    report = reconcile()

    result = check(report, "posted_matches_entries")
    assert not result.ok
    assert result.rows[0][0] is None  # no asset row
    assert result.rows[0][1] == funded_wallet.pk


def test_unbalanced_entries_and_posted_without_entries_are_drift(funded_wallet, external):
    # What a corrupted ledger looks like (trigger disabled by hand, restored from a bad dump).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the fixture's legs before disabling
        cursor.execute("ALTER TABLE transactions_entry DISABLE TRIGGER entry_zero_sum")
    lopsided = post_balanced(kind="adjustment", legs=[(funded_wallet, "USD", Decimal("5"))])
    empty = Transaction.objects.create(
        kind="deposit", status="posted", wallet=funded_wallet, currency_id="USD", amount=Decimal(3),
        posted_at=timezone.now(),
    )

    report = reconcile()

    assert check(report, "entries_zero_sum").rows == [(lopsided.pk, "USD", Decimal("5"))]
    assert check(report, "posted_have_entries").rows[0][0] == empty.pk
    assert not report.is_clean


def test_held_must_equal_pending_withdrawals(funded_wallet):
    Transaction.objects.create(
        kind="withdrawal", status="pending", wallet=funded_wallet, currency_id="USD",
        amount=Decimal("10"), fee=Decimal("0.50"),
    )
    BalanceAsset.objects.filter(balance__wallet=funded_wallet).update(held=Decimal("10.50"))
    assert check(reconcile(), "held_matches_pending").ok

    with connection.cursor() as cursor:
        cursor.execute("UPDATE balances_balanceasset SET held = 0")

    result = check(reconcile(), "held_matches_pending")
    assert result.count == 1
    assert result.rows[0][4] == Decimal(0) and result.rows[0][5] == Decimal("10.50")


def test_a_debit_asset_below_its_floor_is_reported(funded_wallet):
    # The CHECK constraint refuses this; a constraint dropped by hand is the drift we look for.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # settle deferred foreign keys before the DDL
        cursor.execute("ALTER TABLE balances_balanceasset DROP CONSTRAINT asset_above_floor")
        cursor.execute("UPDATE balances_balanceasset SET held = posted + 1")

    result = check(reconcile(), "assets_above_floor")

    assert result.count == 1 and result.rows[0][1] == funded_wallet.pk


def test_the_report_lists_at_most_row_cap_rows_but_counts_all(external):
    wallets = [WalletWithBalanceFactory() for _ in range(ROW_CAP + 3)]
    for wallet in wallets:
        BalanceAssetFactory(balance=wallet.balance, currency=Currency.objects.get(code="USD"))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE balances_balanceasset SET posted = 7")

    report = reconcile()

    result = check(report, "posted_matches_entries")
    assert result.count == ROW_CAP + 3
    assert len(result.rows) == ROW_CAP
    assert "… and 3 more" in report.as_text()
