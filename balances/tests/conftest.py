"""Fixtures of the balances tests; the people, API clients and ``open_wallet`` come from
``walletmanager/testing/fixtures.py``."""

import pytest

from wallets.models import Wallet


@pytest.fixture
def wallet(client_user, open_wallet) -> Wallet:
    """Balances tests open ``wallet`` as the wallets tests do, through ``wallet_create`` (the
    suite-wide ``wallet`` is made by factories)."""
    return open_wallet(client_user)
