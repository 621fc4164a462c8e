"""Velocity (SPEC §12): the approval threshold counts a wallet's last 24 hours, and a daily outgoing
limit caps what leaves it; and what staff write for staff never reaches a client."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from balances.models import Balance, Currency
from balances.services import balance_freeze
from transactions import services
from transactions.exceptions import DailyLimitExceeded
from transactions.models import Transaction
from users.tests.factories import StaffFactory
from walletmanager.approvals.services import approval_approve, approval_request
from walletmanager.testing.database import owner_connection, require_two_roles
from walletmanager.testing.ledger import PIN, deposit, make_wallet, position
from wallets.models import Wallet
from wallets.services import wallet_block

pytestmark = pytest.mark.django_db


def withdraw(wallet, amount, currency="USD"):
    return services.transaction_withdraw(
        actor=wallet.owner, wallet=wallet, currency=Currency.objects.get(code=currency), amount=amount, pin=PIN
    )


def test_every_seeded_currency_has_an_approval_threshold_and_a_daily_limit():
    limits = dict(Currency.objects.values_list("code", "withdrawal_approval_threshold"))
    daily = dict(Currency.objects.values_list("code", "daily_outgoing_limit"))
    for code in ("USD", "EUR", "GBP", "BTC", "ETH", "USDT", "TON"):
        assert limits[code] is not None and daily[code] is not None and daily[code] > limits[code], code
    assert limits["USD"] == Decimal("10000") and limits["BTC"] == Decimal("0.25")


def test_ten_withdrawals_just_under_the_threshold_do_not_pass_it_unseen(wallet):
    deposit(wallet, "40000")

    results = [withdraw(wallet, "9999") for _ in range(4)]

    assert [tx.status for tx in results] == ["posted", "pending", "pending", "pending"]
    assert position(wallet) == (Decimal("30001"), Decimal("29997"), Decimal("4"))


@pytest.mark.django_db(transaction=True)
def test_withdrawals_older_than_a_day_do_not_count(wallet):
    require_two_roles()
    deposit(wallet, "30000")
    first = withdraw(wallet, "10000")
    assert first.status == "pending"
    # What only the schema's owner can do: date it back a day and an hour (its velocity bucket moves with
    # it, by trigger); the ledger counts 24 hours by the database's clock.
    with owner_connection() as owner:
        owner.execute(
            "UPDATE transactions_transaction SET created_at = created_at - interval '25 hours' WHERE id = %s",
            [first.pk],
        )

    assert withdraw(wallet, "9999").status == "posted"


def test_rejected_or_cancelled_withdrawals_do_not_count(wallet):
    deposit(wallet, "30000")
    pending = withdraw(wallet, "10000")
    services.transaction_cancel(actor=wallet.owner, transaction=pending)

    assert withdraw(wallet, "9999").status == "posted"


def test_the_daily_outgoing_limit_caps_withdrawals_transfers_and_exchanges(client_user, usd):
    Currency.objects.filter(code="USD").update(daily_outgoing_limit=Decimal("100"), withdrawal_approval_threshold=None)
    wallet = make_wallet(owner=client_user, balance_kind="multi", currency=None)
    other = make_wallet()
    deposit(wallet, "1000")
    from transactions.models import ExchangeRate

    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.9"))
    withdraw(wallet, "40")
    services.transaction_transfer(
        actor=client_user,
        wallet=wallet,
        to_address=other.address,
        currency=Currency.objects.get(code="USD"),
        amount="30",
        pin=PIN,
    )
    services.transaction_exchange(
        actor=client_user,
        wallet=wallet,
        from_currency=Currency.objects.get(code="USD"),
        to_currency=Currency.objects.get(code="EUR"),
        amount="20",
    )

    with pytest.raises(DailyLimitExceeded) as error:
        withdraw(wallet, "10.01")
    assert error.value.code == "daily_limit_exceeded" and "10 USD remain" in error.value.detail

    api = APIClient()
    api.force_authenticate(client_user)
    response = api.post(
        "/api/transactions/",
        {
            "kind": "transfer",
            "wallet": str(wallet.pk),
            "to_address": other.address,
            "currency": "USD",
            "amount": "11",
            "pin": PIN,
        },
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (409, "daily_limit_exceeded")
    assert position(wallet)[0] == Decimal("910")
    assert withdraw(wallet, "10").status == "posted"  # exactly the limit


# --- staff words stay with staff -------------------------------------------------------------------


def test_a_client_never_sees_the_reasons_staff_gave(client_user, usd):
    wallet = make_wallet(owner=client_user)
    deposit(wallet, "100")
    other = make_wallet()
    transfer = services.transaction_transfer(
        actor=client_user, wallet=wallet, to_address=other.address, currency=usd, amount="30", pin=PIN
    )
    maker, checker = StaffFactory(groups=["Finance"]), StaffFactory(groups=["Finance"])
    request = approval_request(
        actor=maker, action="reverse", reason="AML suspicion on the recipient", transaction=transfer
    )
    approval_approve(actor=checker, request=request)
    support = StaffFactory(groups=["Support"])
    wallet_block(actor=support, wallet=wallet, reason="AML suspicion: case 77")
    balance_freeze(actor=support, balance=Balance.objects.get(wallet=other), reason="Court order 12")

    for user, own_wallet in ((client_user, wallet), (other.owner, other)):
        api = APIClient()
        api.force_authenticate(user)
        listed = api.get("/api/transactions/").json()["results"]
        detail = api.get(f"/api/transactions/{transfer.pk}/").json()
        shown = api.get(f"/api/wallets/{own_wallet.pk}/").json()
        text = str([listed, detail, shown])
        assert "AML" not in text and "Court order" not in text, text
        assert all("reason" not in item for item in listed)
        assert "block_reason" not in shown and "freeze_reason" not in shown["balance"]

    staff = APIClient()
    staff.force_authenticate(checker)
    assert staff.get(f"/api/transactions/{Transaction.objects.get(kind='reversal').pk}/").json()["reason"] == (
        "AML suspicion on the recipient"
    )
    assert staff.get(f"/api/wallets/{wallet.pk}/").json()["block_reason"] == "AML suspicion: case 77"


def test_a_transfer_to_a_blocked_recipient_does_not_say_why(client_user, usd):
    wallet = make_wallet(owner=client_user)
    deposit(wallet, "100")
    recipient = make_wallet()
    Wallet.objects.filter(pk=recipient.pk).update(status="blocked", block_reason="Sanctions list hit")
    api = APIClient()
    api.force_authenticate(client_user)

    response = api.post(
        "/api/transactions/",
        {
            "kind": "transfer",
            "wallet": str(wallet.pk),
            "to_address": recipient.address,
            "currency": "USD",
            "amount": "5",
            "pin": PIN,
        },
        format="json",
    )

    assert response.status_code == 409
    assert response.json() == {
        "code": "recipient_unavailable",
        "detail": "The recipient's wallet cannot receive this payment.",
    }
    assert position(wallet)[0] == Decimal("100")
