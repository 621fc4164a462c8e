from decimal import Decimal

import pytest

from balances.models import Currency

pytestmark = pytest.mark.django_db


def test_currencies_lists_active_currencies_with_formatted_thresholds(client_api):
    Currency.objects.filter(code="TON").update(is_active=False)
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("10000"))

    response = client_api.get("/api/currencies/")

    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()["results"]}
    assert set(rows) == {"USD", "EUR", "GBP", "BTC", "ETH", "USDT"}
    assert rows["USD"] == {
        "code": "USD",
        "name": rows["USD"]["name"],
        "decimals": 2,
        "withdrawal_approval_threshold": "10000.00",
        "daily_outgoing_limit": "50000.00",
    }
    assert rows["ETH"]["decimals"] == 18 and rows["ETH"]["withdrawal_approval_threshold"] == "4." + "0" * 18
    Currency.objects.filter(code="GBP").update(withdrawal_approval_threshold=None, daily_outgoing_limit=None)
    gbp = client_api.get("/api/currencies/").json()["results"]
    assert next(row for row in gbp if row["code"] == "GBP")["daily_outgoing_limit"] is None


def test_currencies_need_authentication(api_client):
    assert api_client.get("/api/currencies/").status_code == 401
