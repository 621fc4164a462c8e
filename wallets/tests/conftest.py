"""Fixtures for wallet and balance tests (``balances/tests/conftest.py`` re-exports them)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from users.tests.factories import StaffFactory, UserFactory
from wallets import services
from wallets.models import Wallet
from wallets.tests.factories import DEFAULT_PIN


@pytest.fixture
def client_user(db):
    return UserFactory()


@pytest.fixture
def other_client(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return StaffFactory(groups=["Support"])


def authenticated(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def client_api(client_user) -> APIClient:
    return authenticated(client_user)


@pytest.fixture
def other_api(other_client) -> APIClient:
    return authenticated(other_client)


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    return authenticated(staff_user)


@pytest.fixture
def open_wallet():
    """Open a wallet through the service (so its balance and asset exist as in production)."""

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
        return services.wallet_create(
            actor=actor if actor is not None else owner,
            owner=owner,
            name=name,
            kind=kind,
            balance_kind=balance_kind,
            currency=currency if balance_kind == "regular" else None,
            pin=DEFAULT_PIN,
            credit_limit=credit_limit,
        )

    return open_wallet


@pytest.fixture
def wallet(client_user, open_wallet) -> Wallet:
    return open_wallet(client_user)


@pytest.fixture
def credit_wallet(client_user, staff_user, open_wallet) -> Wallet:
    return open_wallet(client_user, actor=staff_user, kind=Wallet.Kind.CREDIT, credit_limit=Decimal("100.00"))


@pytest.fixture
def system_wallet(db) -> Wallet:
    return Wallet.objects.get(system_role=Wallet.SystemRole.FEES)
