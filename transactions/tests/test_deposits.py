"""Money comes in only from a trusted source (SPEC §12): a client's deposit is a pending request until
the payment provider's signed callback or a Finance operator says the money arrived."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from transactions import deposits
from transactions.models import Entry, FeeRule, Transaction
from users.tests.factories import StaffFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import (
    PIN,
    assert_ledger_consistent,
    make_wallet,
    position,
    seed_reference_data,
    system_position,
)

pytestmark = pytest.mark.django_db

CALLBACK = "/api/payments/callback/"
URL = "/api/transactions/"


@pytest.fixture
def api(client_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(client_user)
    return client


@pytest.fixture
def pending(api, wallet) -> dict:
    response = api.post(URL, {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "100.00"})
    assert response.status_code == 201, response.content
    return response.json()


def staff_api(*groups: str):
    operator = StaffFactory(groups=list(groups))
    client = APIClient()
    client.force_authenticate(operator)
    return client, operator


def provider_post(
    event: dict, *, timestamp: int | None = None, secret: str | None = None, signature: str | None = None
):
    """POST the callback the way the provider does: exact bytes, signed over "<t>.<body>"."""
    body = json.dumps(event).encode()
    if signature is None:
        signature = deposits.payment_signature(body, timestamp=timestamp or int(time.time()), secret=secret)
    return APIClient().generic(
        "POST", CALLBACK, body, content_type="application/json", HTTP_WALLETMANAGER_SIGNATURE=signature
    )


def event_for(pending: dict, **overrides) -> dict:
    return {
        "reference": pending["reference"],
        "provider_id": "pay_1",
        "amount": pending["amount"],
        "currency": "USD",
        "status": "succeeded",
        **overrides,
    }


def test_a_clients_deposit_moves_nothing_until_the_money_arrives(api, wallet, pending):
    assert pending["status"] == "pending" and pending["reference"].startswith("WM-")
    assert position(wallet) == (0, 0, 0)
    assert api.get(f"/api/wallets/{wallet.pk}/").json()["balance"]["assets"][0]["available"] == "0.00"
    # Nothing can be withdrawn against it.
    response = api.post(
        URL, {"kind": "withdrawal", "wallet": str(wallet.pk), "currency": "USD", "amount": "1", "pin": PIN}
    )
    assert response.status_code == 409
    assert response.json() == {
        "code": "insufficient_funds",
        "detail": "Not enough available USD: 0 available, 1 needed.",
    }
    assert not Entry.objects.exists()
    assert not Transaction.objects.filter(kind="withdrawal").exists()
    assert Transaction.objects.get().status == "pending"


def test_the_signed_callback_posts_the_amount_actually_received(wallet, pending):
    FeeRule.objects.create(kind="deposit", currency=None, percent_bps=100)

    response = provider_post(event_for(pending, amount="99.50"))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "reference": pending["reference"],
        "transaction": pending["id"],
        "status": "posted",
        "replayed": False,
    }
    deposit = Transaction.objects.get(pk=pending["id"])
    assert (deposit.status, deposit.amount, deposit.received_amount, deposit.fee, deposit.provider_id) == (
        "posted",
        Decimal("100"),
        Decimal("99.50"),
        Decimal("1.00"),
        "pay_1",
    )
    assert position(wallet) == (Decimal("98.50"), 0, Decimal("98.50"))
    assert system_position("external") == Decimal("-99.50") and system_position("fees") == Decimal("1.00")
    event = AuditEvent.objects.get(action="deposit.settled", target_id=pending["id"])  # the provider said so
    assert event.actor is None and event.data["provider_id"] == "pay_1" and event.data["received_amount"] == "99.50"
    assert_ledger_consistent()


def test_the_same_provider_event_again_answers_the_first_result_and_changes_nothing(wallet, pending):
    first = provider_post(event_for(pending))
    entries = Entry.objects.count()

    again = provider_post(event_for(pending, amount="5000"))

    assert again.status_code == 200
    assert again.json() == {**first.json(), "replayed": True}
    assert Entry.objects.count() == entries
    assert position(wallet)[0] == Decimal("100")


@pytest.mark.parametrize(
    "signature",
    [None, "", "t=1,v1=00", "v1=abc", "t=notanumber,v1=abc"],
    ids=["missing", "empty", "wrong-and-stale", "no-timestamp", "bad-timestamp"],
)
def test_a_callback_without_a_valid_signature_is_401_and_changes_nothing(wallet, pending, signature):
    body = json.dumps(event_for(pending)).encode()
    headers = {} if signature is None else {"HTTP_WALLETMANAGER_SIGNATURE": signature}

    response = APIClient().generic("POST", CALLBACK, body, content_type="application/json", **headers)

    assert response.status_code == 401, response.content
    assert Transaction.objects.get(pk=pending["id"]).status == "pending"
    assert position(wallet) == (0, 0, 0)


def test_a_callback_signed_with_another_secret_or_too_long_ago_is_401(wallet, pending):
    forged = provider_post(event_for(pending), secret="not-our-secret")
    stale = provider_post(event_for(pending), timestamp=int(time.time()) - 301)
    future = provider_post(event_for(pending), timestamp=int(time.time()) + 301)
    # A valid signature over other bytes than those sent.
    body = json.dumps(event_for(pending)).encode()
    signature = deposits.payment_signature(body, timestamp=int(time.time()))
    tampered = APIClient().generic(
        "POST",
        CALLBACK,
        body.replace(b"100.00", b"900.00"),
        content_type="application/json",
        HTTP_WALLETMANAGER_SIGNATURE=signature,
    )

    assert [r.status_code for r in (forged, stale, future, tampered)] == [401, 401, 401, 401]
    assert Transaction.objects.get(pk=pending["id"]).status == "pending"
    assert position(wallet) == (0, 0, 0)


def test_a_failed_payment_rejects_the_deposit(wallet, pending):
    response = provider_post(event_for(pending, status="failed"))

    assert response.status_code == 200 and response.json()["status"] == "rejected"
    deposit = Transaction.objects.get(pk=pending["id"])
    assert (deposit.status, deposit.provider_id) == ("rejected", "pay_1")
    assert position(wallet) == (0, 0, 0)


def test_callbacks_for_unknown_or_resolved_deposits_or_another_currency_are_refused(wallet, pending):
    unknown = provider_post(event_for(pending, reference="WM-0000-0000-00", provider_id="pay_9"))
    currency = provider_post(event_for(pending, currency="EUR", provider_id="pay_8"))
    malformed = provider_post({"reference": pending["reference"]})
    provider_post(event_for(pending))
    second = provider_post(event_for(pending, provider_id="pay_2"))

    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert currency.status_code == 400 and list(currency.json()["fields"]) == ["currency"]
    assert malformed.status_code == 400
    assert (second.status_code, second.json()["code"]) == (409, "invalid_state")
    assert position(wallet)[0] == Decimal("100")


def test_finance_confirms_or_rejects_with_a_reason_support_cannot(wallet, pending):
    support, _ = staff_api("Support")
    finance, operator = staff_api("Finance")

    refused = support.post(f"{URL}{pending['id']}/confirm/", {"reason": "seen"})
    no_reason = finance.post(f"{URL}{pending['id']}/confirm/", {})
    confirmed = finance.post(
        f"{URL}{pending['id']}/confirm/", {"reason": "Wire seen on statement 42", "received_amount": "100.00"}
    )

    assert refused.status_code == 403
    assert no_reason.status_code == 400 and list(no_reason.json()["fields"]) == ["reason"]
    assert confirmed.status_code == 200, confirmed.content
    assert (confirmed.json()["status"], confirmed.json()["received_amount"], confirmed.json()["reason"]) == (
        "posted",
        "100.00",
        "Wire seen on statement 42",
    )
    assert position(wallet)[0] == Decimal("100")
    assert AuditEvent.objects.get(action="deposit.confirmed", target_id=pending["id"]).actor == operator

    again = finance.post(f"{URL}{pending['id']}/reject/", {"reason": "late"})
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")


def test_finance_rejects_a_deposit_and_nothing_posts(wallet, pending):
    finance, _ = staff_api("Finance")

    response = finance.post(f"{URL}{pending['id']}/reject/", {"reason": "No such payment at the bank"})

    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert position(wallet) == (0, 0, 0)


def test_a_deposit_finance_records_for_a_client_needs_another_operator(wallet):
    finance, maker = staff_api("Finance")
    recorded = finance.post(URL, {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "10"})
    assert recorded.status_code == 201 and recorded.json()["status"] == "pending"

    own = finance.post(f"{URL}{recorded.json()['id']}/confirm/", {"reason": "I saw it"})
    assert (own.status_code, own.json()["code"]) == (403, "same_operator")
    checker, _ = staff_api("Finance")
    assert checker.post(f"{URL}{recorded.json()['id']}/confirm/", {"reason": "Seen"}).json()["status"] == "posted"
    assert position(wallet)[0] == Decimal("10")


def test_nobody_confirms_a_deposit_into_their_own_wallet():

    finance, operator = staff_api("Finance")
    own_wallet = make_wallet(owner=operator)
    pending = deposits.transaction_deposit(
        actor=operator, wallet=own_wallet, currency=own_wallet.balance.currency, amount="1000"
    )

    response = finance.post(f"{URL}{pending.pk}/confirm/", {"reason": "trust me"})

    assert (response.status_code, response.json()["code"]) == (403, "own_wallet")
    assert position(own_wallet) == (0, 0, 0)


def test_a_deposit_whose_money_never_arrives_expires(wallet, pending, settings, clock_ahead):
    clock_ahead(settings.DEPOSIT_TTL + timedelta(minutes=1))
    out = StringIO()

    call_command("expire_holds", stdout=out)

    assert "1 pending deposit" in out.getvalue()
    deposit = Transaction.objects.get(pk=pending["id"])
    assert deposit.status == "expired" and "No payment arrived" in deposit.reason
    late = provider_post(event_for(pending))
    assert (late.status_code, late.json()["code"]) == (409, "invalid_state")
    assert position(wallet) == (0, 0, 0)


def test_simulate_payment_signs_and_sends_a_callback_like_the_provider(wallet, pending):
    out = StringIO()

    call_command("simulate_payment", pending["reference"], "--amount", "60", stdout=out)

    assert "the deposit is now posted" in out.getvalue()
    deposit = Transaction.objects.get(pk=pending["id"])
    assert deposit.received_amount == Decimal("60") and deposit.provider_id.startswith("sim_")
    assert position(wallet)[0] == Decimal("60")
    with pytest.raises(CommandError, match="invalid_state"):
        call_command("simulate_payment", pending["reference"], stdout=StringIO())
    with pytest.raises(CommandError, match="No deposit has the reference"):
        call_command("simulate_payment", "WM-NOPE", stdout=StringIO())


def test_simulate_payment_failed(wallet, pending):
    out = StringIO()
    call_command("simulate_payment", pending["reference"], "--failed", stdout=out)
    assert "failed; the deposit is now rejected" in out.getvalue()
    assert position(wallet) == (0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_simulate_payment_reaches_a_running_server_over_http(live_server):

    seed_reference_data()
    wallet = make_wallet()
    pending = deposits.transaction_deposit(
        actor=wallet.owner, wallet=wallet, currency=wallet.balance.currency, amount="12.34"
    )
    out = StringIO()

    call_command("simulate_payment", pending.reference, "--url", live_server.url, stdout=out)

    assert "the deposit is now posted" in out.getvalue()
    assert position(wallet)[0] == Decimal("12.34")


def test_a_reference_drawn_twice_is_drawn_again(wallet, client_user, usd, monkeypatch):
    first = deposits.transaction_deposit(actor=client_user, wallet=wallet, currency=usd, amount="10")
    drawn = iter([first.reference, "WM-0000-0000-01"])
    monkeypatch.setattr(deposits, "new_reference", lambda: next(drawn))

    second = deposits.transaction_deposit(actor=client_user, wallet=wallet, currency=usd, amount="20")

    assert second.reference == "WM-0000-0000-01" and second.amount == Decimal("20")
    assert sorted(Transaction.objects.values_list("reference", "amount")) == sorted(
        [(first.reference, Decimal("10")), ("WM-0000-0000-01", Decimal("20"))]
    )
    requested = AuditEvent.objects.filter(action="deposit.requested").values_list("target_id", flat=True)
    assert sorted(requested) == sorted([str(first.pk), str(second.pk)])
