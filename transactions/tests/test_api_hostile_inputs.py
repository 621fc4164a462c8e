"""A table of hostile inputs on POST /api/transactions/: always a 4xx, never a change (SPEC §11)."""

from urllib.parse import urlencode

import pytest

from transactions.models import Entry, Transaction
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, deposit, make_wallet

pytestmark = pytest.mark.django_db

URL = "/api/transactions/"


def cases(own, other):
    deposit = {"kind": "deposit", "wallet": own, "currency": "USD", "amount": "1"}
    withdrawal = {"kind": "withdrawal", "wallet": own, "currency": "USD", "amount": "1", "pin": PIN}
    return [
        {**deposit, "amount": "-1"},
        {**deposit, "amount": "0"},
        {**deposit, "amount": 0},
        {**deposit, "amount": "NaN"},
        {**deposit, "amount": "sNaN"},
        {**deposit, "amount": "Infinity"},
        {**deposit, "amount": "-Infinity"},
        {**deposit, "amount": "1e400"},
        {**deposit, "amount": "1e-400"},
        {**deposit, "amount": "1000000000000000.01"},
        {**deposit, "amount": "1.001"},
        {**deposit, "amount": "1" * 10000},
        {**deposit, "amount": None},
        {**deposit, "amount": True},
        {**deposit, "amount": [1]},
        {**deposit, "amount": {"value": 1}},
        {**deposit, "amount": " "},
        {**deposit, "amount": "0x10"},
        {**deposit, "currency": "usd$"},
        {**deposit, "currency": "XXX"},
        {**deposit, "currency": 5},
        {**deposit, "currency": "U" * 10000},
        {**deposit, "wallet": other},
        {**deposit, "wallet": "not-a-uuid"},
        {**deposit, "wallet": 12},
        {**deposit, "wallet": None},
        {**deposit, "description": "d" * 256},
        {**deposit, "kind": "reversal"},
        {**deposit, "kind": "steal"},
        {**deposit, "kind": None},
        {**deposit, "kind": ["deposit"]},
        {**deposit, "is_admin": True},
        {**deposit, "status": "posted"},
        {**withdrawal, "pin": None},
        {**withdrawal, "pin": "9" * 10000},
        {**withdrawal, "pin": 1234},
        {**withdrawal, "wallet": other},
        {**withdrawal, "amount": "100000"},
        {"kind": "transfer", "wallet": own, "to_address": "A" * 10000, "currency": "USD", "amount": "1", "pin": PIN},
        {"kind": "transfer", "wallet": own, "to_address": None, "currency": "USD", "amount": "1", "pin": PIN},
        {"kind": "exchange", "wallet": own, "from_currency": "USD", "to_currency": "USD", "amount": "1"},
        {
            "kind": "exchange",
            "wallet": own,
            "from_currency": "USD",
            "to_currency": "EUR",
            "amount": "1",
            "to_wallet": other,
        },
        {"kind": "adjustment", "wallet": own, "currency": "USD", "amount": "1", "direction": "credit", "reason": "x"},
        {},
        [],
        "deposit",
    ]


def test_hostile_bodies_get_4xx_and_change_nothing(api_client, client_user):
    own_wallet = make_wallet(owner=client_user)
    other_wallet = make_wallet()
    api_client.force_authenticate(client_user)
    deposit(own_wallet, "5")
    before = (Transaction.objects.count(), Entry.objects.count(), AuditEvent.objects.count())

    for case in cases(str(own_wallet.pk), str(other_wallet.pk)):
        response = api_client.post(URL, case, format="json")
        assert 400 <= response.status_code < 500, (case, response.status_code, response.content[:300])
        assert response["Content-Type"].startswith("application/json")

    assert (Transaction.objects.count(), Entry.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.parametrize(
    "raw",
    [
        '{"kind": "deposit", "amount": NaN}',
        '{"kind": "deposit", "amount": Infinity}',
        '{"kind": "deposit", "amount": 1e999999999}',
        '{"kind": "deposit", "amount": ' + "9" * 5000 + "}",
        '{"kind": ',
        "[" * 100000 + "]" * 100000,
        "\xff\xfe",
    ],
)
def test_malformed_json_is_400(api_client, client_user, raw):
    api_client.force_authenticate(client_user)
    response = api_client.generic("POST", URL, raw.encode("utf-8", "surrogateescape"), content_type="application/json")
    assert response.status_code == 400
    assert Transaction.objects.count() == 0


@pytest.mark.parametrize("body_format", ["multipart", "form"])
def test_a_form_body_is_refused_415_and_moves_nothing(api_client, client_user, body_format):
    """Bodies are JSON only (docs/api.md): a form is refused, never half-understood."""
    wallet = make_wallet(owner=client_user)
    api_client.force_authenticate(client_user)
    fields = {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "2"}
    if body_format == "form":
        response = api_client.post(URL, urlencode(fields), content_type="application/x-www-form-urlencoded")
    else:
        response = api_client.post(URL, fields, format="multipart")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert Transaction.objects.count() == 0


def test_json_body_works(api_client, client_user):
    wallet = make_wallet(owner=client_user)
    api_client.force_authenticate(client_user)

    response = api_client.post(
        URL, {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "2"}, format="json"
    )

    assert response.status_code == 201
    assert Transaction.objects.get().amount == 2
