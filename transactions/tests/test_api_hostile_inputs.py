"""A table of hostile inputs on POST /api/transactions/: always a 4xx, never a change (SPEC §11)."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest

from transactions.models import Entry, Transaction
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, deposit, make_wallet, position

pytestmark = pytest.mark.django_db

URL = "/api/transactions/"


def invalid(field: str) -> tuple[int, str, str]:
    """A 400 whose body names the refused field."""
    return 400, "invalid", field


NO_SUCH_WALLET = (404, "not_found", None)  # another client's wallet does not exist for this one


def cases(own, other):
    """Each hostile body with the (status, code, field named in ``fields``) it gets."""
    deposit = {"kind": "deposit", "wallet": own, "currency": "USD", "amount": "1"}
    withdrawal = {"kind": "withdrawal", "wallet": own, "currency": "USD", "amount": "1", "pin": PIN}
    transfer = {"kind": "transfer", "wallet": own, "currency": "USD", "amount": "1", "pin": PIN}
    exchange = {"kind": "exchange", "wallet": own, "from_currency": "USD", "to_currency": "EUR", "amount": "1"}
    return [
        ({**deposit, "amount": "-1"}, invalid("amount")),
        ({**deposit, "amount": "0"}, invalid("amount")),
        ({**deposit, "amount": 0}, invalid("amount")),
        ({**deposit, "amount": "NaN"}, invalid("amount")),
        ({**deposit, "amount": "sNaN"}, invalid("amount")),
        ({**deposit, "amount": "Infinity"}, invalid("amount")),
        ({**deposit, "amount": "-Infinity"}, invalid("amount")),
        ({**deposit, "amount": "1e400"}, invalid("amount")),
        ({**deposit, "amount": "1e-400"}, invalid("amount")),
        ({**deposit, "amount": "1000000000000000.01"}, invalid("amount")),
        ({**deposit, "amount": "1.001"}, invalid("amount")),
        ({**deposit, "amount": "1" * 10000}, invalid("amount")),
        ({**deposit, "amount": None}, invalid("amount")),
        ({**deposit, "amount": True}, invalid("amount")),
        ({**deposit, "amount": [1]}, invalid("amount")),
        ({**deposit, "amount": {"value": 1}}, invalid("amount")),
        ({**deposit, "amount": " "}, invalid("amount")),
        ({**deposit, "amount": "0x10"}, invalid("amount")),
        ({**deposit, "currency": "usd$"}, invalid("currency")),
        ({**deposit, "currency": "XXX"}, invalid("currency")),
        ({**deposit, "currency": 5}, invalid("currency")),
        ({**deposit, "currency": "U" * 10000}, invalid("currency")),
        ({**deposit, "wallet": other}, NO_SUCH_WALLET),
        ({**deposit, "wallet": "not-a-uuid"}, invalid("wallet")),
        ({**deposit, "wallet": 12}, invalid("wallet")),  # a number is no id (DRF would read UUID(int=12))
        ({**deposit, "wallet": None}, invalid("wallet")),
        ({**deposit, "description": "d" * 256}, invalid("description")),
        ({**deposit, "kind": "reversal"}, invalid("kind")),
        ({**deposit, "kind": "steal"}, invalid("kind")),
        ({**deposit, "kind": None}, invalid("kind")),
        ({**deposit, "kind": ["deposit"]}, invalid("kind")),
        ({**deposit, "is_admin": True}, invalid("is_admin")),
        ({**deposit, "status": "posted"}, invalid("status")),
        ({**withdrawal, "pin": None}, invalid("pin")),
        ({**withdrawal, "pin": "9" * 10000}, invalid("pin")),
        ({**withdrawal, "pin": 1234}, invalid("pin")),
        ({**withdrawal, "wallet": other}, NO_SUCH_WALLET),
        ({**withdrawal, "amount": "100000"}, (409, "daily_limit_exceeded", None)),
        ({**transfer, "to_address": "A" * 10000}, invalid("to_address")),
        ({**transfer, "to_address": None}, invalid("to_address")),
        ({**exchange, "to_currency": "USD"}, invalid("to_currency")),
        ({**exchange, "to_wallet": other}, NO_SUCH_WALLET),
        (
            {
                "kind": "adjustment",
                "wallet": own,
                "currency": "USD",
                "amount": "1",
                "direction": "credit",
                "reason": "x",
            },
            (403, "permission_denied", None),
        ),
        ({}, invalid("kind")),
        ([], invalid("non_field_errors")),
        ("deposit", invalid("non_field_errors")),
    ]


def test_a_missing_kind_is_required_and_a_numeric_wallet_id_is_malformed(api_client, client_user):
    wallet = make_wallet(owner=client_user)
    api_client.force_authenticate(client_user)

    missing = api_client.post(URL, {"wallet": str(wallet.pk), "currency": "USD", "amount": "1"}, format="json")
    numeric = api_client.post(URL, {"kind": "deposit", "wallet": 12, "currency": "USD", "amount": "1"}, format="json")

    assert missing.status_code == 400
    assert missing.json()["fields"] == {"kind": [{"code": "required", "detail": "This field is required."}]}
    assert numeric.status_code == 400
    assert numeric.json()["fields"] == {"wallet": [{"code": "invalid", "detail": "Must be a valid UUID."}]}
    assert not Transaction.objects.filter(wallet=wallet).exists()


def test_hostile_bodies_get_4xx_and_change_nothing(api_client, client_user):
    own_wallet = make_wallet(owner=client_user)
    other_wallet = make_wallet()
    api_client.force_authenticate(client_user)
    deposit(own_wallet, "5")
    before = (Transaction.objects.count(), Entry.objects.count(), AuditEvent.objects.count())

    for case, (status, code, field) in cases(str(own_wallet.pk), str(other_wallet.pk)):
        response = api_client.post(URL, case, format="json")
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        assert (response.status_code, body["code"]) == (status, code), (case, response.content[:300])
        assert body["detail"], case
        # A field error names the field it refuses, and only that one; other refusals name none.
        assert list(body.get("fields", {})) == ([field] if field else []), (case, body)

    assert (Transaction.objects.count(), Entry.objects.count(), AuditEvent.objects.count()) == before
    assert position(own_wallet) == (Decimal("5"), Decimal("0"), Decimal("5"))
    assert position(other_wallet) == (Decimal("0"), Decimal("0"), Decimal("0"))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"kind": "deposit", "amount": NaN}', "parse_error"),
        ('{"kind": "deposit", "amount": Infinity}', "parse_error"),
        # Valid JSON (Python reads it as inf): the serializer refuses the object instead.
        ('{"kind": "deposit", "amount": 1e999999999}', "invalid"),
        ('{"kind": "deposit", "amount": ' + "9" * 5000 + "}", "parse_error"),
        ('{"kind": ', "parse_error"),
        ("[" * 100000 + "]" * 100000, "parse_error"),
        ("\xff\xfe", "parse_error"),
    ],
)
def test_malformed_json_is_400(api_client, client_user, raw, code):
    api_client.force_authenticate(client_user)
    response = api_client.generic("POST", URL, raw.encode("utf-8", "surrogateescape"), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    if code == "parse_error":
        assert response.json()["detail"].startswith("JSON parse error - ")
        # JSON's terms, never the interpreter's (its limit's message named sys.set_int_max_str_digits).
        for python_words in ("sys.", "int_max_str_digits", "Exceeds the limit", "codec", "recursion"):
            assert python_words not in response.json()["detail"]
    assert Transaction.objects.count() == 0


def test_a_number_too_long_for_python_is_explained_in_json_terms(api_client, client_user):
    api_client.force_authenticate(client_user)
    raw = '{"kind": "deposit", "amount": ' + "9" * 5000 + "}"

    response = api_client.generic("POST", URL, raw.encode(), content_type="application/json")

    assert response.json() == {"code": "parse_error", "detail": "JSON parse error - a number has too many digits."}


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
    deposit = Transaction.objects.get()
    assert deposit.amount == 2
    body = response.json()
    assert (body["id"], body["kind"], body["status"], body["wallet"], body["amount"]) == (
        str(deposit.pk),
        "deposit",
        "pending",
        str(wallet.pk),
        "2.00",
    )
    assert position(wallet) == (Decimal("0"), Decimal("0"), Decimal("0"))  # a deposit waits for its money
