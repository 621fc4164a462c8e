"""A malformed ``WalletManager-Signature`` is a 401 like a wrong one, never a 500 (SPEC §12)."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from transactions import deposits
from transactions.models import Transaction
from walletmanager.testing.ledger import position

pytestmark = pytest.mark.django_db

CALLBACK = "/api/payments/callback/"


@pytest.fixture
def pending(wallet, client_user) -> dict:
    client = APIClient()
    client.force_authenticate(client_user)
    response = client.post(
        "/api/transactions/", {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "10.00"}
    )
    assert response.status_code == 201, response.content
    return response.json()


def body_for(pending: dict) -> bytes:
    return json.dumps(
        {
            "reference": pending["reference"],
            "provider_id": "pay_1",
            "amount": "900000",
            "currency": "USD",
            "status": "succeeded",
        }
    ).encode()


def post_with(body: bytes, header: str):
    return APIClient().generic(
        "POST", CALLBACK, body, content_type="application/json", HTTP_WALLETMANAGER_SIGNATURE=header
    )


def malformed_headers() -> list[str]:
    now = int(time.time())
    return [
        f"t={now},v1=\xe9",  # the reproduction: a non-ASCII byte where the hex digest goes
        f"t={now},v1=\xe9" + "0" * 63,
        f"t={now},v1=\u00ff\u00fe",
        f"t={now},v1=\x00",
        f"t={now},v1=",
        f"t={now},v1",
        f"t={now}",
        f"t={now},v1=" + "ab" * 5000,
        f"t={now},v1=" + "g" * 64,
        f"t={now},v1=" + "A" * 64,
        "t=\xe9,v1=" + "0" * 64,
        "t=\u0661\u0662,v1=" + "0" * 64,  # Arabic-Indic digits, which int() accepts
        f"t={now:_},v1=" + "0" * 64,  # 1_700_000_000: int() accepts underscores
        f"t=+{now},v1=" + "0" * 64,
        f"t= {now},v1=" + "0" * 64,
        "t=" + "9" * 5000 + ",v1=" + "0" * 64,  # past Python's int-from-string digit limit
        "t=" + "9" * 400 + ",v1=" + "0" * 64,
        f"t={now}.5,v1=" + "0" * 64,
        "t=nan,v1=" + "0" * 64,
        ",,,,",
        "=",
        "\xe9",
        "\x7f\x80\x81",
        " ",
        "t=,v1=",
        f"t={now},t={now},v1=\xe9,v1=\xe9",
    ]


@pytest.mark.parametrize("header", malformed_headers())
def test_a_malformed_signature_is_401_and_changes_nothing(wallet, pending, header):
    response = post_with(body_for(pending), header)

    assert response.status_code == 401, response.content
    assert response.json()["code"] == "not_authenticated"
    assert Transaction.objects.get(pk=pending["id"]).status == "pending"
    assert position(wallet) == (0, 0, 0)


def test_a_valid_signature_with_a_malformed_extra_candidate_still_verifies(wallet, pending):
    """The scheme allows several ``v1`` (secret rotation): a garbage one beside the right one is ignored."""
    body = body_for(pending)
    header = deposits.payment_signature(body, timestamp=int(time.time())) + ",v1=\xe9"

    deposits.verify_payment_signature(body, header)  # does not raise


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.text(max_size=200) | st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")))
def test_any_text_as_a_signature_is_refused_and_never_raises_anything_else(header):
    body = b'{"reference": "WM-0000-0000-00"}'
    with pytest.raises(deposits.InvalidSignature):
        deposits.verify_payment_signature(body, header)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(digest=st.binary(min_size=1, max_size=80).map(lambda raw: raw.decode("latin-1")))
def test_any_bytes_after_a_fresh_timestamp_are_a_401_over_http(wallet, pending, digest):
    response = post_with(body_for(pending), f"t={int(time.time())},v1={digest}")

    assert response.status_code == 401, response.content
    assert Transaction.objects.get(pk=pending["id"]).status == "pending"
