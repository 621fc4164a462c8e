"""The database itself refuses a negative debit balance and a negative hold (SPEC §4): proven by
writing around the ORM, with raw SQL."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from balances.models import BalanceAsset

pytestmark = pytest.mark.django_db


def raw_update(asset_id: int, assignments: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE balances_balanceasset SET {assignments} WHERE id = %s", [asset_id])


def test_a_debit_asset_cannot_go_negative(wallet):
    asset = wallet.balance.assets.get()

    with pytest.raises(IntegrityError, match="asset_above_floor"), transaction.atomic():
        raw_update(asset.pk, "posted = -1")

    asset.refresh_from_db()
    assert asset.posted == 0


def test_held_cannot_go_negative(wallet):
    asset = wallet.balance.assets.get()

    with pytest.raises(IntegrityError, match="asset_held_not_negative"), transaction.atomic():
        raw_update(asset.pk, "held = -1")


def test_a_hold_cannot_exceed_a_debit_balance(wallet):
    asset = wallet.balance.assets.get()
    raw_update(asset.pk, "posted = 10")

    with pytest.raises(IntegrityError, match="asset_above_floor"), transaction.atomic():
        raw_update(asset.pk, "held = 10.01")
    raw_update(asset.pk, "held = 10")


def test_a_credit_asset_goes_down_to_minus_its_limit_and_no_further(credit_wallet):
    asset = credit_wallet.balance.assets.get()

    raw_update(asset.pk, "posted = -100")
    asset.refresh_from_db()
    assert asset.posted == Decimal(-100) and asset.available == 0

    with pytest.raises(IntegrityError, match="asset_above_floor"), transaction.atomic():
        raw_update(asset.pk, "posted = -100.01")
    with pytest.raises(IntegrityError, match="asset_above_floor"), transaction.atomic():
        raw_update(asset.pk, "held = 0.01")
    # Shrinking the mirrored limit below what is used is refused by the database too.
    with pytest.raises(IntegrityError, match="asset_above_floor"), transaction.atomic():
        raw_update(asset.pk, "credit_limit = 99")


def test_one_asset_per_balance_and_currency(wallet):
    asset = wallet.balance.assets.get()

    with pytest.raises(IntegrityError, match="asset_unique_per_balance_currency"), transaction.atomic():
        BalanceAsset.objects.create(balance=asset.balance, currency=asset.currency)


def test_a_regular_balance_needs_its_currency(wallet):
    with pytest.raises(IntegrityError, match="balance_regular_has_currency"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE balances_balance SET currency_id = NULL WHERE id = %s", [wallet.balance.pk])
