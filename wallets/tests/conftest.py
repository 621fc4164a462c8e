"""Fixtures of the wallets tests; the people, API clients and ``open_wallet`` come from
``walletmanager/testing/fixtures.py``."""

import pytest

from wallets.models import Wallet


@pytest.fixture
def wallet(client_user, open_wallet) -> Wallet:
    """Here ``wallet`` is opened through ``wallet_create`` as the API opens it, audit event included
    (the suite-wide ``wallet`` is made by factories)."""
    return open_wallet(client_user)
