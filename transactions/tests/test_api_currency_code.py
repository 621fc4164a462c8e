"""A currency code with a NUL byte or a space is refused as invalid (400), not sent to PostgreSQL, whose
text refuses NUL bytes (a 500 that the schema fuzz found, issue 24)."""

from __future__ import annotations

import pytest

from transactions.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", ["US\x00D", "U D", "ÜSD"])
def test_a_currency_code_that_is_no_code_is_a_clear_400(client_api, funded_wallet, code):
    before = Transaction.objects.count()

    response = client_api.post(
        "/api/transactions/",
        {"kind": "deposit", "wallet": str(funded_wallet.pk), "currency": code, "amount": "10.00"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"]["currency"][0]["code"] == "invalid"
    assert Transaction.objects.count() == before
