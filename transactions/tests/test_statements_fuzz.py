"""SPEC §11 for the statement endpoints (§14): schemathesis aimed at a real wallet with history.

The suite-wide fuzz (``walletmanager/tests/test_api_fuzz.py``) sends random wallet ids to half its
cases; here every case names a wallet that has entries in two currencies and a pending withdrawal, so
generated ``at``, ``from``, ``to``, ``currency``, ``format`` and ``page`` values reach the selectors.
Every schemathesis check the suite-wide fuzz runs (its CONFIG): no 5xx, every response documented and
conforming to the schema (JSON, CSV or PDF), invalid queries refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from balances.models import Currency
from transactions import services
from users.tests.factories import UserFactory
from walletmanager.testing.fuzz import APP, CONFIG, aim_path_at, token_header
from walletmanager.testing.ledger import PIN, deposit, make_wallet

pytestmark = pytest.mark.usefixtures("wsgi_keeps_the_test_connection")

schema = schemathesis.openapi.from_wsgi("/api/schema/", APP, config=schemathesis.Config.from_dict(CONFIG)).include(
    path_regex=r"^/api/wallets/\{id\}/(balance|statement)/$"
)


@pytest.fixture
def wallet_with_history(db):
    owner = UserFactory()
    wallet = make_wallet(owner=owner, balance_kind="multi", currency=None)
    deposit(wallet, "500", "USD")
    deposit(wallet, "0.5", "BTC")
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("100"))
    services.transaction_withdraw(
        actor=owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount="150", pin=PIN
    )
    return wallet, token_header(owner)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_no_statement_query_makes_a_server_error(case, wallet_with_history):
    wallet, headers = wallet_with_history
    aim_path_at(case, wallet)
    case.call_and_validate(headers=headers)
