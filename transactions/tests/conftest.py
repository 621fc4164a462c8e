"""Fixtures of the ledger tests: wallets made by factories, money put in through the deposit service."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.db.models import Sum

from balances.models import BalanceAsset, Currency
from balances.tests.factories import BalanceAssetFactory, WalletWithBalanceFactory
from transactions import deposits
from transactions.models import Entry, Transaction
from users.tests.factories import StaffFactory, UserFactory
from wallets.models import Wallet
from wallets.tests.factories import DEFAULT_PIN

PIN = DEFAULT_PIN


def seed_reference_data() -> None:
    """Currencies and system wallets come from data migrations; a transactional test flushes them."""
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
    """A client wallet as ``wallet_create`` leaves it: a regular balance gets its asset at once."""
    owner = owner or UserFactory()
    wallet = WalletWithBalanceFactory(
        owner=owner,
        kind=kind,
        credit_limit=credit_limit,
        balance__kind=balance_kind,
        balance__currency=Currency.objects.get(code=currency) if balance_kind == "regular" else None,
    )
    if balance_kind == "regular":
        BalanceAssetFactory(balance=wallet.balance, currency_id=currency, credit_limit=credit_limit)
    return Wallet.objects.select_related("owner", "balance").get(pk=wallet.pk)


def deposit(wallet: Wallet, amount, currency: str = "USD") -> Transaction:
    """Money in the way it really comes: a pending deposit, then the confirmation that it arrived."""
    pending = deposits.transaction_deposit(
        actor=None, wallet=wallet, currency=Currency.objects.get(code=currency), amount=Decimal(str(amount))
    )
    return deposits.deposit_confirm(actor=None, transaction=pending, reason="test: the money arrived")


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


@pytest.fixture
def staff(db):
    return StaffFactory(groups=["Finance"])


@pytest.fixture
def client_user(db):
    return UserFactory()


@pytest.fixture
def usd(db) -> Currency:
    return Currency.objects.get(code="USD")


@pytest.fixture
def eur(db) -> Currency:
    return Currency.objects.get(code="EUR")


@pytest.fixture
def btc(db) -> Currency:
    return Currency.objects.get(code="BTC")


@pytest.fixture
def wallet(client_user) -> Wallet:
    return make_wallet(owner=client_user)


@pytest.fixture
def funded_wallet(wallet) -> Wallet:
    """A USD debit wallet holding 100.00, put there by the deposit service."""
    deposit(wallet, "100")
    return wallet


@pytest.fixture
def multi_wallet(client_user) -> Wallet:
    return make_wallet(owner=client_user, balance_kind="multi", currency=None)


@pytest.fixture
def other_wallet(db) -> Wallet:
    return make_wallet()
