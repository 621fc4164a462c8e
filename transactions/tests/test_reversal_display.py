"""A reversal shows the amount that moved, and names what it undid by short id (issue 22, SPEC §8): a
deposit of 40.00 that brought 39.50 is undone by 39.50, in the API, the admin and statement lines."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from balances.models import Currency
from transactions import deposits, services
from transactions.models import Transaction
from users.tests.factories import StaffFactory
from walletmanager.testing.ledger import make_wallet, position
from walletmanager.testing.two_factor import verified_staff_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def reversal():
    """A deposit of 40.00 asked for, 39.50 received (the provider's callback), then reversed."""
    wallet = make_wallet()
    usd = Currency.objects.get(code="USD")
    pending = deposits.transaction_deposit(actor=wallet.owner, wallet=wallet, currency=usd, amount="40.00")
    deposits.deposit_settle(
        event=deposits.PaymentEvent(
            reference=pending.reference, provider_id="pay_1", amount="39.50", currency="USD", status="succeeded"
        )
    )
    assert position(wallet)[0] == Decimal("39.50")
    reversed_by = services.transaction_reverse(
        actor=StaffFactory(groups=["Finance"]), transaction=pending, reason="chargeback"
    )
    assert position(wallet)[0] == 0
    return Transaction.objects.get(pk=reversed_by.pk)


def short(value) -> str:
    return str(value)[:8]


def test_the_api_shows_the_amount_that_moved_and_the_short_id(reversal):
    client = APIClient()
    client.force_authenticate(reversal.wallet.owner)

    one = client.get(f"/api/transactions/{reversal.pk}/").json()
    listed = client.get("/api/transactions/", {"kind": "reversal"}).json()["results"]

    assert (one["amount"], one["description"]) == ("39.50", f"Reversal of {short(reversal.reverses_id)}")
    assert one["reverses"] == str(reversal.reverses_id)  # the full id stays, for programs
    assert [(row["amount"], row["description"]) for row in listed] == [("39.50", one["description"])]


def test_staff_see_the_same_in_the_api(reversal):
    client = APIClient()
    client.force_authenticate(StaffFactory(groups=["Support"]))

    body = client.get(f"/api/transactions/{reversal.pk}/").json()

    assert body["amount"] == "39.50"
    assert sorted(entry["amount"] for entry in body["entries"] if entry["wallet"] == str(reversal.wallet_id)) == [
        "-39.50"
    ]


def test_the_admin_shows_the_amount_that_moved(reversal):
    browser = Client()
    verified_staff_login(browser, StaffFactory(groups=["Support"]))

    changelist = browser.get(reverse("admin:transactions_transaction_changelist"), {"kind__exact": "reversal"})
    page = browser.get(reverse("admin:transactions_transaction_change", args=[reversal.pk]))

    assert "39.50 USD" in changelist.content.decode() and "40.00 USD" not in changelist.content.decode()
    text = page.content.decode()
    assert f"Reversal of {short(reversal.reverses_id)}" in text
    assert f"Reversal of {reversal.reverses_id}" not in text


def test_statement_lines_name_the_reversed_transaction_by_short_id(reversal):
    client = APIClient()
    client.force_authenticate(reversal.wallet.owner)
    url = f"/api/wallets/{reversal.wallet_id}/statement/"

    lines = client.get(url, {"currency": "USD", "from": "2000-01-01"}).json()["results"]
    download = client.get(url, {"currency": "USD", "from": "2000-01-01", "format": "csv"})

    assert [(line["description"], line["amount"]) for line in lines][-1] == (
        f"Reversal of {short(reversal.reverses_id)}",
        "-39.50",
    )
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[-1][4:6] == [f"Reversal of {short(reversal.reverses_id)}", "-39.50"]
