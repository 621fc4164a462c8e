"""Fixtures every app's tests may ask for, registered by the root ``conftest.py`` (``pytest_plugins``).

A test names them as arguments and never imports them. An app's ``tests/conftest.py`` keeps the
fixtures only its own tests use, and may override one of these for its folder (the wallets and
balances tests open ``wallet`` through ``wallet_create``).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework.test import APIClient

from balances.models import Currency
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.services import approval_approve
from walletmanager.testing.clients import authenticated
from walletmanager.testing.ledger import deposit, make_wallet
from wallets import services as wallet_services
from wallets.models import Wallet
from wallets.tests.factories import DEFAULT_PIN

# People


@pytest.fixture
def client_user(db):
    return UserFactory()


@pytest.fixture
def other_client(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    """A Finance operator (money: approvals, reversals, adjustments)."""
    return StaffFactory(groups=["Finance"])


@pytest.fixture
def staff_user(db):
    """A Support operator (people and wallets: blocks, freezes)."""
    return StaffFactory(groups=["Support"])


@pytest.fixture
def finance_user(db):
    return StaffFactory(groups=["Finance"])


@pytest.fixture
def client_api(client_user) -> APIClient:
    return authenticated(client_user)


@pytest.fixture
def other_api(other_client) -> APIClient:
    return authenticated(other_client)


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    return authenticated(staff_user)


# Currencies (rows of the data migrations)


@pytest.fixture
def usd(db) -> Currency:
    return Currency.objects.get(code="USD")


@pytest.fixture
def eur(db) -> Currency:
    return Currency.objects.get(code="EUR")


@pytest.fixture
def btc(db) -> Currency:
    return Currency.objects.get(code="BTC")


# Wallets made by factories, their balance opened by ``balance_open`` (``make_wallet``)


@pytest.fixture
def wallet(client_user) -> Wallet:
    """``client_user``'s USD debit wallet, empty."""
    return make_wallet(owner=client_user)


@pytest.fixture
def funded_wallet(wallet) -> Wallet:
    """``wallet`` holding 100.00 USD, put there by the deposit service."""
    deposit(wallet, "100")
    return wallet


@pytest.fixture
def multi_wallet(client_user) -> Wallet:
    return make_wallet(owner=client_user, balance_kind="multi", currency=None)


@pytest.fixture
def other_wallet(db) -> Wallet:
    """Another client's USD debit wallet."""
    return make_wallet()


@pytest.fixture
def system_wallet(db) -> Wallet:
    return Wallet.objects.get(system_role=Wallet.SystemRole.FEES)


# Wallets opened through ``wallet_create``, as the API opens them


@pytest.fixture
def open_wallet():
    """Open a wallet through the service (so its balance, asset and audit event exist as in production)."""

    def open_wallet(
        owner,
        *,
        actor=None,
        kind: str = Wallet.Kind.DEBIT,
        balance_kind: str = "regular",
        currency: str | None = "USD",
        credit_limit: Decimal = Decimal(0),
        name: str = "Main",
    ) -> Wallet:
        wallet = wallet_services.wallet_create(
            actor=actor if actor is not None else owner,
            owner=owner,
            name=name,
            kind=kind,
            balance_kind=balance_kind,
            currency=currency if balance_kind == "regular" else None,
            pin=DEFAULT_PIN,
            credit_limit=credit_limit,
        )
        if credit_limit:
            # The limit is a request (SPEC §12): a second Finance operator approves it.
            request = ApprovalRequest.objects.get(action="set_credit_limit", target_id=str(wallet.pk), status="pending")
            approval_approve(actor=StaffFactory(groups=["Finance"]), request=request)
            wallet.refresh_from_db()
        return wallet

    return open_wallet


@pytest.fixture
def credit_wallet(client_user, finance_user, open_wallet) -> Wallet:
    """``client_user``'s USD credit wallet with a limit of 100.00, opened by Finance and approved."""
    return open_wallet(client_user, actor=finance_user, kind=Wallet.Kind.CREDIT, credit_limit=Decimal("100.00"))


# Calling the WSGI application in-process (schemathesis)


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """The WSGI handler closes "old" connections around each request, and one inside the test's
    transaction counts as old; Django's own test client disconnects the same receivers."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def clock_ahead(monkeypatch):
    """Move the application's clock (``django.utils.timezone.now``) forward: ``clock_ahead(delta)``.

    The ledger's rows are stamped by PostgreSQL and the runtime role cannot backdate them (SPEC §16),
    so a test of what happens *later* (expiry, a 24-hour window) moves the application's "now"
    instead of the rows' times."""
    from datetime import timedelta

    from django.utils import timezone

    real_now = timezone.now
    shift = [timedelta(0)]
    monkeypatch.setattr(timezone, "now", lambda: real_now() + shift[0])

    def move(delta: timedelta) -> None:
        shift[0] += delta

    return move
