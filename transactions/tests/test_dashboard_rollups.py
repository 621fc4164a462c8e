"""The dashboard's per-day rollups, kept by the ledger's triggers, say what a scan of the transactions
says, whatever happened to them: postings, pending ones resolved either way, reversals, deletions, bulk
history over past days (SPEC §8, §10)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.utils import ProgrammingError
from django.utils import timezone

from balances.models import Currency
from transactions import dashboard, deposits, services
from transactions.models import DailyVolume, Transaction
from transactions.reconciliation import reconcile
from walletmanager.testing.database import owner_connection
from walletmanager.testing.ledger import PIN, deposit, make_wallet, seed_reference_data

pytestmark = pytest.mark.django_db


def figures(now) -> tuple[list[dict], dict]:
    today = timezone.localdate(now)
    first_day = today - timedelta(days=dashboard.CHART_DAYS - 1)
    return dashboard.volume_today(now), dashboard.daily_counts(first_day, now)


def scanned(now) -> tuple[list[dict], dict]:
    """The same figures straight from the transactions, in the dashboard's shape."""
    today = timezone.localdate(now)
    first_day = today - timedelta(days=dashboard.CHART_DAYS - 1)
    start = timezone.make_aware(timezone.datetime.combine(today, timezone.datetime.min.time()))
    volume = [
        {key: row[key] for key in ("kind", "currency_id", "count", "posted")} | {"amount": row["amount"]}
        for row in dashboard.volume_scanned(start, now)
    ]
    return volume, dashboard.daily_counts_scanned(first_day, now)


def assert_rollups_equal_a_scan() -> None:
    now = timezone.now()
    volume, counts = figures(now)
    expected_volume, expected_counts = scanned(now)
    decimals = dict(Currency.objects.values_list("code", "decimals"))
    assert [{key: row[key] for key in ("kind", "currency_id", "count", "posted", "amount")} for row in volume] == [
        row
        | {
            "amount": dashboard.format_money(
                row["amount"], currency=row["currency_id"], decimals=decimals[row["currency_id"]]
            )
        }
        for row in expected_volume
    ]
    assert counts == expected_counts
    check = next(check for check in reconcile().checks if check.name == "daily_volume_matches_transactions")
    assert check.ok, check.rows


def test_every_change_of_the_ledger_moves_the_rollups_with_it(staff, usd):
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("50"))
    usd.refresh_from_db()
    wallet, other = make_wallet(), make_wallet()
    deposit(wallet, "500")
    deposit(other, "20")
    assert_rollups_equal_a_scan()

    deposits.transaction_deposit(actor=wallet.owner, wallet=wallet, currency=usd, amount=Decimal("30"))
    refused = deposits.transaction_deposit(actor=wallet.owner, wallet=wallet, currency=usd, amount=Decimal("31"))
    deposits.deposit_reject(actor=None, transaction=refused, reason="test: never arrived")
    approved = services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="60", pin=PIN)
    rejected = services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="70", pin=PIN)
    cancelled = services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="80", pin=PIN)
    services.transaction_approve(actor=staff, transaction=approved, reason="checked")
    services.transaction_reject(actor=staff, transaction=rejected, reason="suspicious")
    services.transaction_cancel(actor=wallet.owner, transaction=cancelled)
    transfer = services.transaction_transfer(
        actor=wallet.owner, wallet=wallet, to_address=other.address, currency=usd, amount="10", pin=PIN
    )
    services.transaction_reverse(actor=staff, transaction=transfer, reason="sent by mistake")
    assert_rollups_equal_a_scan()

    volume = {row["kind"]: row for row in dashboard.volume_today()}
    assert (volume["deposit"]["count"], volume["deposit"]["posted"]) == (4, 2)  # one waits, one was refused
    assert (volume["withdrawal"]["count"], volume["withdrawal"]["posted"]) == (3, 1)
    assert (volume["transfer"]["posted"], volume["reversal"]["posted"]) == (1, 1)  # reversed still counts
    assert volume["withdrawal"]["amount"] == "210.00 USD"


@pytest.mark.django_db(transaction=True)
def test_deleting_or_moving_what_never_posted_moves_the_rollups(usd):
    seed_reference_data()
    wallet = make_wallet()
    deposit(wallet, "5")
    usd = Currency.objects.get(code="USD")
    waiting = deposits.transaction_deposit(actor=wallet.owner, wallet=wallet, currency=usd, amount=Decimal("30"))
    refused = deposits.transaction_deposit(actor=wallet.owner, wallet=wallet, currency=usd, amount=Decimal("31"))
    deposits.deposit_reject(actor=None, transaction=refused, reason="test: never arrived")
    three_days_ago = timezone.now() - timedelta(days=3)

    # Only the owner role may delete a transaction that never posted, or move a pending one's date.
    with owner_connection() as owner:
        owner.execute("DELETE FROM transactions_transaction WHERE id = %s", [refused.pk])
        owner.execute("UPDATE transactions_transaction SET created_at = %s WHERE id = %s", [three_days_ago, waiting.pk])

    assert_rollups_equal_a_scan()
    moved_to = timezone.localdate(three_days_ago)
    assert dashboard.daily_counts(moved_to, timezone.now()) == {moved_to: 1, timezone.localdate(): 1}


@pytest.mark.django_db(transaction=True)  # the bulk history is written as the owner, outside any transaction
def test_bulk_history_over_past_days_is_counted_per_day(settings):
    settings.DEBUG = True  # seed_demo's published logins
    call_command("seed_demo", "--users", "2", "--transactions", "400", "--days", "10", stdout=open("/dev/null", "w"))

    assert_rollups_equal_a_scan()
    counts = dashboard.daily_counts(timezone.localdate() - timedelta(days=11), timezone.now())
    assert len(counts) >= 9 and sum(counts.values()) == Transaction.objects.count()


def test_the_runtime_role_cannot_write_the_rollups():
    deposit(make_wallet(), "5")
    row = DailyVolume.objects.first()
    with pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
        DailyVolume.objects.filter(pk=row.pk).update(transactions=99)
    with pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
        DailyVolume.objects.create(
            day=row.day, kind="deposit", currency_id="USD", shard=99, transactions=1, amount=1, posted=1
        )


@pytest.mark.django_db(transaction=True)
def test_reconcile_names_a_rollup_that_drifted():
    seed_reference_data()
    deposit(make_wallet(), "5")
    with owner_connection() as owner:
        owner.execute("UPDATE transactions_dailyvolume SET transactions = 7")

    check = next(check for check in reconcile().checks if check.name == "daily_volume_matches_transactions")

    assert not check.ok
    day, kind, currency, rollup_count, count, *_ = check.rows[0]
    assert (day, kind, currency, rollup_count, count) == (timezone.localdate(), "deposit", "USD", 7, 1)


def test_a_dashboard_in_another_time_zone_reads_the_transactions(settings):
    deposit(make_wallet(), "5")
    with timezone.override("America/New_York"):
        now = timezone.now()
        assert figures(now)[1] == scanned(now)[1]
