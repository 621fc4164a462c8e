"""Every CSV download quotes every field and neutralises a text field that a spreadsheet would read
as a formula (SPEC §13): the statement download, ``export_transactions`` and the admin's export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from balances.models import Currency
from balances.tests.factories import WalletWithBalanceFactory
from transactions.models import Transaction
from transactions.services import transaction_transfer
from users.tests.factories import StaffFactory
from walletmanager.testing.ledger import deposit
from walletmanager.testing.two_factor import verified_staff_login
from wallets.tests.factories import DEFAULT_PIN

pytestmark = pytest.mark.django_db

HOSTILE = ["rent ;=1+1;", "=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "plain words"]


@pytest.fixture
def transfers():
    usd = Currency.objects.get(code="USD")
    sender = WalletWithBalanceFactory()
    receiver = WalletWithBalanceFactory()
    deposit(sender, "500.00")
    for description in HOSTILE:
        transaction_transfer(
            actor=sender.owner,
            wallet=sender,
            to_address=receiver.address,
            currency=usd,
            amount="1",
            pin=DEFAULT_PIN,
            description=description,
        )
    return sender


def assert_every_field_quoted(text: str) -> list[list[str]]:
    """Each physical record is a run of quoted fields: reading it with QUOTE_ALL's rules gives the
    same cells as reading it as a spreadsheet set to ";" would not split inside a field."""
    rows = list(csv.reader(io.StringIO(text)))
    assert rows
    # Re-writing what was read with every field quoted gives back exactly the bytes received.
    again = io.StringIO()
    csv.writer(again, quoting=csv.QUOTE_ALL).writerows(rows)
    assert again.getvalue() == text
    return rows


def assert_descriptions_neutralised(descriptions: list[str]) -> None:
    for description in descriptions:
        assert not description.startswith(("=", "+", "-", "@", "\t", "\r")), description
    # Descriptions are stored trimmed ("\t=1" is kept as "=1"): compare with what was stored.
    stored = Transaction.objects.filter(kind="transfer").values_list("description", flat=True)
    for hostile in stored:
        expected = "'" + hostile if hostile.startswith(("=", "+", "-", "@", "\t", "\r")) else hostile
        assert any(description.endswith(expected) for description in descriptions), (hostile, descriptions)


def test_export_transactions_quotes_every_field_and_neutralises_descriptions(transfers):
    out = io.StringIO()
    call_command("export_transactions", stdout=out)

    text = out.getvalue()
    assert '"rent ;=1+1;"' in text  # the reproduction: it came out unquoted
    rows = assert_every_field_quoted(text)
    header, body = rows[0], rows[1:]
    by_name = [dict(zip(header, row, strict=True)) for row in body]
    assert_descriptions_neutralised([row["description"] for row in by_name if row["kind"] == "transfer"])
    assert {row["amount"] for row in by_name} == {"500.00", "1.00"}


def test_the_admin_export_quotes_every_field_and_neutralises_descriptions(client, transfers):
    verified_staff_login(client, StaffFactory(groups=["Support"]))
    selected = [str(pk) for pk in Transaction.objects.values_list("pk", flat=True)]

    response = client.post(
        reverse("admin:transactions_transaction_changelist"), {"action": "export_csv", "_selected_action": selected}
    )

    text = b"".join(response.streaming_content).decode()
    assert '"rent ;=1+1;"' in text
    rows = assert_every_field_quoted(text)
    description = rows[0].index("description")
    assert_descriptions_neutralised([row[description] for row in rows[1:] if row[3] == "transfer"])


def test_the_statement_csv_quotes_every_field_and_keeps_debits_as_numbers(transfers):
    api = APIClient()
    api.force_authenticate(transfers.owner)
    today = timezone.localdate()

    response = api.get(
        f"/api/wallets/{transfers.pk}/statement/",
        {"currency": "USD", "from": (today - timedelta(days=1)).isoformat(), "format": "csv"},
    )

    text = b"".join(response.streaming_content).decode()
    rows = assert_every_field_quoted(text)
    assert '"Transfer to ' in text and ': rent ;=1+1;"' in text
    # A debit is the number -1.00 a spreadsheet sums, not text: amounts are never prefixed.
    assert [row[5] for row in rows[1:]] == ["500.00"] + ["-1.00"] * len(HOSTILE)
    assert [row[0] for row in rows[1:]] == [str(number) for number in range(1, len(HOSTILE) + 2)]
