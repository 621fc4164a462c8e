"""SPEC §11 for the statement endpoints (§14): schemathesis aimed at a real wallet with history.

The suite-wide fuzz (``walletmanager/tests/test_api_fuzz.py``) sends random wallet ids to half its
cases; here every case names a wallet that has entries in two currencies and a pending withdrawal, so
generated ``at``, ``from``, ``to``, ``currency``, ``format`` and ``page`` values reach the selectors.
No 5xx, and every response conforms to the schema (JSON, CSV or PDF)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from balances.models import Currency
from transactions import services
from transactions.tests.conftest import PIN, deposit, make_wallet
from users.tests.factories import UserFactory
from walletmanager.tests.test_api_fuzz import APP, CHECKS, _keep_the_test_connection, token_header  # noqa: F401

schema = schemathesis.openapi.from_wsgi("/api/schema/", APP, config=schemathesis.Config.from_dict({})).include(
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
    case.path_parameters["id"] = str(wallet.pk)
    case.call_and_validate(headers=headers, checks=CHECKS)
