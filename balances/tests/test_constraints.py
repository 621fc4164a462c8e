"""The database itself refuses a negative debit balance and a negative hold (SPEC §4, §14): proven
on the database's own writes. The runtime role cannot write the ledger's tables at all (SPEC §16,
``transactions/tests/test_ledger_door.py``), so these statements run as the schema's owner, around
every function and service: only PostgreSQL's constraints stand in their way."""

from decimal import Decimal

import psycopg
import pytest
from django.db import IntegrityError, transaction

from balances.models import BalanceAsset
from walletmanager.testing.database import owner_connection, require_two_roles
from walletmanager.testing.ledger import post_adjustment
from wallets.models import Wallet

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _two_roles():
    require_two_roles()


def insert_entry(wallet: Wallet, amount: str) -> None:
    """A posted transaction whose entries move ``wallet`` by ``amount`` against the outside world,
    written as the owner with raw SQL: no service or function checks it, only PostgreSQL."""
    external = Wallet.objects.get(system_role=Wallet.SystemRole.EXTERNAL)
    with owner_connection() as owner:
        (transaction_id,) = owner.execute(
            "INSERT INTO transactions_transaction (id, kind, status, wallet_id, currency_id, amount, fee, "
            "description, reason, created_at, posted_at) "
            "VALUES (gen_random_uuid(), 'adjustment', 'posted', %s, 'USD', %s, 0, '', '', now(), now()) RETURNING id",
            [wallet.pk, abs(Decimal(amount))],
        ).fetchone()
        owner.execute(
            "INSERT INTO transactions_entry (transaction_id, wallet_id, currency_id, amount, created_at) "
            "VALUES (%s, %s, 'USD', %s, now()), (%s, %s, 'USD', %s, now())",
            [transaction_id, external.pk, -Decimal(amount), transaction_id, wallet.pk, Decimal(amount)],
        )


def insert_hold(wallet: Wallet, amount: str) -> None:
    """A pending withdrawal of ``amount`` written as the owner: PostgreSQL adds it to ``held``."""
    with owner_connection() as owner:
        owner.execute(
            "INSERT INTO transactions_transaction (id, kind, status, wallet_id, currency_id, amount, fee, "
            "description, reason, created_at) "
            "VALUES (gen_random_uuid(), 'withdrawal', 'pending', %s, 'USD', %s, 0, '', '', now())",
            [wallet.pk, Decimal(amount)],
        )


def test_a_debit_asset_cannot_go_negative(wallet):
    with pytest.raises(psycopg.errors.CheckViolation, match="asset_above_floor"):
        insert_entry(wallet, "-1")

    asset = wallet.balance.assets.get()
    assert (asset.posted, asset.sequence) == (Decimal(0), 0)


def test_a_hold_cannot_exceed_a_debit_balance(wallet):
    insert_entry(wallet, "10")

    with pytest.raises(psycopg.errors.CheckViolation, match="asset_above_floor"):
        insert_hold(wallet, "10.01")
    insert_hold(wallet, "10")
    assert wallet.balance.assets.get().available == Decimal(0)


def test_a_credit_asset_goes_down_to_minus_its_limit_and_no_further(credit_wallet):
    post_adjustment(credit_wallet, -100)
    asset = credit_wallet.balance.assets.get()
    assert asset.posted == Decimal(-100) and asset.available == 0

    with pytest.raises(psycopg.errors.CheckViolation, match="asset_above_floor"):
        insert_entry(credit_wallet, "-0.01")
    with pytest.raises(psycopg.errors.CheckViolation, match="asset_above_floor"):
        insert_hold(credit_wallet, "0.01")
    # Shrinking the mirrored limit below what is used is refused by the database too (the runtime
    # role may write the limit, which operators change through the four-eyes service).
    with pytest.raises(IntegrityError, match="asset_above_floor"), transaction.atomic():
        BalanceAsset.objects.filter(pk=asset.pk).update(credit_limit=Decimal(99))


def test_one_asset_per_balance_and_currency(wallet):
    asset = wallet.balance.assets.get()

    with pytest.raises(psycopg.errors.UniqueViolation, match="asset_unique_per_balance_currency"):
        with owner_connection() as owner:
            owner.execute(
                "INSERT INTO balances_balanceasset (balance_id, currency_id, posted, held, credit_limit, sequence,"
                " updated_at) VALUES (%s, %s, 0, 0, 0, 0, now())",
                [asset.balance_id, asset.currency_id],
            )


def test_a_regular_balance_needs_its_currency(wallet):
    with pytest.raises(psycopg.errors.CheckViolation, match="balance_regular_has_currency"):
        with owner_connection() as owner:
            owner.execute("UPDATE balances_balance SET currency_id = NULL WHERE id = %s", [wallet.balance.pk])
