"""The database itself refuses a negative debit balance and a negative hold (SPEC §4, §14): proven
on the database's own writes, by inserting entries and pending withdrawals around the services."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from balances.models import BalanceAsset
from walletmanager.testing.ledger import place_hold, post_adjustment
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def insert_entry(wallet: Wallet, amount: str) -> None:
    """A posted transaction whose entries move ``wallet`` by ``amount`` against the outside world,
    written with raw SQL: no service checks it, only PostgreSQL."""
    external = Wallet.objects.get(system_role=Wallet.SystemRole.EXTERNAL)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO transactions_transaction (id, kind, status, wallet_id, currency_id, amount, fee, "
            "description, reason, created_at, posted_at) "
            "VALUES (gen_random_uuid(), 'adjustment', 'posted', %s, 'USD', %s, 0, '', '', %s, %s) RETURNING id",
            [wallet.pk, abs(Decimal(amount)), timezone.now(), timezone.now()],
        )
        transaction_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO transactions_entry (transaction_id, wallet_id, currency_id, amount, created_at) "
            "VALUES (%s, %s, 'USD', %s, now()), (%s, %s, 'USD', %s, now())",
            [transaction_id, external.pk, -Decimal(amount), transaction_id, wallet.pk, Decimal(amount)],
        )


def test_a_debit_asset_cannot_go_negative(wallet):
    with pytest.raises(IntegrityError, match="asset_above_floor"), transaction.atomic():
        insert_entry(wallet, "-1")

    asset = wallet.balance.assets.get()
    assert (asset.posted, asset.sequence) == (Decimal(0), 0)


def test_a_hold_cannot_exceed_a_debit_balance(wallet):
    insert_entry(wallet, "10")

    with pytest.raises(IntegrityError, match="asset_above_floor"), transaction.atomic():
        place_hold(wallet, "10.01")
    place_hold(wallet, "10")
    assert wallet.balance.assets.get().available == Decimal(0)


def test_a_credit_asset_goes_down_to_minus_its_limit_and_no_further(credit_wallet):
    post_adjustment(credit_wallet, -100)
    asset = credit_wallet.balance.assets.get()
    assert asset.posted == Decimal(-100) and asset.available == 0

    with pytest.raises(IntegrityError, match="asset_above_floor"), transaction.atomic():
        insert_entry(credit_wallet, "-0.01")
    with pytest.raises(IntegrityError, match="asset_above_floor"), transaction.atomic():
        place_hold(credit_wallet, "0.01")
    # Shrinking the mirrored limit below what is used is refused by the database too.
    with pytest.raises(IntegrityError, match="asset_above_floor"), transaction.atomic():
        BalanceAsset.objects.filter(pk=asset.pk).update(credit_limit=Decimal(99))


def test_one_asset_per_balance_and_currency(wallet):
    asset = wallet.balance.assets.get()

    with pytest.raises(IntegrityError, match="asset_unique_per_balance_currency"), transaction.atomic():
        BalanceAsset.objects.create(balance=asset.balance, currency=asset.currency)


def test_a_regular_balance_needs_its_currency(wallet):
    with pytest.raises(IntegrityError, match="balance_regular_has_currency"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE balances_balance SET currency_id = NULL WHERE id = %s", [wallet.balance.pk])
