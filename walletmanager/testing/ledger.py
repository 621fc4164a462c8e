"""Test helpers that put money where a test needs it, the only way the database allows: through the
ledger's services (entries) and pending withdrawals (holds), and that read the ledger back. Positions
are never written directly; wallets get their balance from ``balance_open`` as in production."""

from __future__ import annotations

import importlib
from contextlib import nullcontext
from decimal import Decimal

from django.apps import apps as django_apps
from django.db import connection
from django.db.models import Sum

from balances.models import BalanceAsset, Currency
from balances.services import balance_open
from transactions import deposits, ledger
from transactions.models import Entry, Transaction
from transactions.services import transaction_adjust
from users.tests.factories import UserFactory
from wallets.models import Wallet
from wallets.tests.factories import DEFAULT_PIN, WalletFactory

PIN = DEFAULT_PIN


def seed_reference_data() -> None:
    """Currencies and system wallets come from data migrations; a transactional test flushes them.
    Re-created as the owner, as the migrations did: the runtime role opens no balance itself (SPEC §16).
    (Inside a test's transaction they are still there, and nothing is written.)"""
    as_owner = connection.as_owner() if not connection.in_atomic_block else nullcontext()
    with as_owner:
        importlib.import_module("balances.migrations.0003_seed_currencies").seed_currencies(django_apps, None)
        importlib.import_module("balances.migrations.0004_system_wallets").create_system_wallets(django_apps, None)


def make_wallet(
    *,
    owner=None,
    currency: str | None = "USD",
    balance_kind: str = "regular",
    kind: str = "debit",
    credit_limit: Decimal = Decimal(0),
) -> Wallet:
    """A client wallet row from the factory with its balance opened by ``balance_open``: a regular
    balance gets its asset (with the wallet's credit limit) at once, a multi-currency one on first use.
    Unlike ``wallet_create`` it writes no audit event and asks no approval for the credit limit."""
    wallet = WalletFactory(owner=owner or UserFactory(), kind=kind, credit_limit=credit_limit)
    balance_open(wallet=wallet, kind=balance_kind, currency=currency if balance_kind == "regular" else None)
    return Wallet.objects.select_related("owner", "balance").get(pk=wallet.pk)


def deposit(wallet: Wallet, amount, currency: str = "USD") -> Transaction:
    """Money in the way it really comes: a pending deposit, then the confirmation that it arrived."""
    pending = deposits.transaction_deposit(
        actor=None, wallet=wallet, currency=Currency.objects.get(code=currency), amount=Decimal(str(amount))
    )
    return deposits.deposit_confirm(actor=None, transaction=pending, reason="test: the money arrived")


def post_adjustment(wallet, amount, currency: str = "USD"):
    """A posted adjustment by the system: ``amount`` > 0 credits the wallet, < 0 debits it (down to
    its floor; a credit wallet into its credit line)."""
    amount = Decimal(str(amount))
    return transaction_adjust(
        actor=None,
        wallet=wallet,
        currency=Currency.objects.get(code=currency),
        amount=abs(amount),
        direction="credit" if amount > 0 else "debit",
        reason="test set-up",
    )


def place_hold(wallet, amount, currency: str = "USD"):
    """A pending withdrawal of ``amount`` (no fee) by the wallet's owner, through the ledger's door as
    any withdrawal from the currency's approval threshold up: PostgreSQL adds it to ``held``. The
    threshold is lowered to the amount for this one call and put back."""
    amount = Decimal(str(amount))
    code = Currency.objects.get(code=currency)
    threshold = code.withdrawal_approval_threshold
    Currency.objects.filter(code=currency).update(withdrawal_approval_threshold=amount)
    try:
        code.withdrawal_approval_threshold = amount
        moved = ledger.move(
            request_id=None,
            kind="withdrawal",
            actor_id=wallet.owner_id,
            wallet=wallet,
            currency=code,
            amount=amount,
        )
    finally:
        Currency.objects.filter(code=currency).update(withdrawal_approval_threshold=threshold)
    assert moved.transaction.status == "pending"
    return moved.transaction


def asset_of(wallet: Wallet, currency: str = "USD") -> BalanceAsset | None:
    return BalanceAsset.objects.filter(balance__wallet=wallet, currency_id=currency).first()


def position(wallet: Wallet, currency: str = "USD") -> tuple[Decimal, Decimal, Decimal]:
    """(posted, held, available) of a client wallet's asset; zeros when it has none yet."""
    asset = asset_of(wallet, currency)
    if asset is None:
        return Decimal(0), Decimal(0), Decimal(0)
    return asset.posted, asset.held, asset.available


def system_position(role: str, currency: str = "USD") -> Decimal:
    total = Entry.objects.filter(wallet__system_role=role, currency_id=currency).aggregate(total=Sum("amount"))["total"]
    return total or Decimal(0)


def assert_ledger_consistent() -> None:
    """Every invariant of SPEC §4/§5 over the whole database."""
    unbalanced = Entry.objects.values("transaction_id", "currency_id").annotate(total=Sum("amount")).exclude(total=0)
    assert not unbalanced.exists(), list(unbalanced)
    totals = Entry.objects.values("currency_id").annotate(total=Sum("amount")).exclude(total=0)
    assert not totals.exists(), list(totals)
    for asset in BalanceAsset.objects.select_related("balance__wallet"):
        wallet = asset.balance.wallet
        entries = Entry.objects.filter(wallet=wallet, currency_id=asset.currency_id).aggregate(total=Sum("amount"))
        assert asset.posted == (entries["total"] or 0), (wallet.pk, asset.currency_id)
        pending = Transaction.objects.filter(
            wallet=wallet,
            currency_id=asset.currency_id,
            status=Transaction.Status.PENDING,
            kind=Transaction.Kind.WITHDRAWAL,
        ).values_list("amount", "fee")
        assert asset.held == sum((amount + fee for amount, fee in pending), Decimal(0))
        assert asset.posted - asset.held + asset.credit_limit >= 0
        if wallet.kind == Wallet.Kind.DEBIT:
            assert asset.posted - asset.held >= 0
    # no posted entries for a pending/rejected/cancelled/expired transaction
    assert not Entry.objects.exclude(transaction__status__in=["posted", "reversed"]).exists()
