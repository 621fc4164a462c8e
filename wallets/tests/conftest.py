"""Fixtures for wallet and balance tests (``balances/tests/conftest.py`` re-exports them)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from users.tests.factories import StaffFactory, UserFactory
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.services import approval_approve
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


@pytest.fixture
def finance_user(db):
    return StaffFactory(groups=["Finance"])


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
        wallet = services.wallet_create(
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
def wallet(client_user, open_wallet) -> Wallet:
    return open_wallet(client_user)


@pytest.fixture
def credit_wallet(client_user, finance_user, open_wallet) -> Wallet:
    return open_wallet(client_user, actor=finance_user, kind=Wallet.Kind.CREDIT, credit_limit=Decimal("100.00"))


@pytest.fixture
def system_wallet(db) -> Wallet:
    return Wallet.objects.get(system_role=Wallet.SystemRole.FEES)
