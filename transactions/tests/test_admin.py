"""The ledger in the operators' admin: read-only money, reason-page actions, the deposit/adjustment
form, CSV export and changelists whose query count does not grow with rows (SPEC §8)."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from balances.models import BalanceAsset, Currency
from balances.tests.factories import WalletWithBalanceFactory
from transactions.admin import EstimatedCountPaginator
from transactions.models import Entry, ExchangeRate, FeeRule, Transaction
from transactions.services import transaction_withdraw
from users.tests.factories import StaffFactory
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import deposit as confirmed_deposit
from walletmanager.testing.two_factor import verified_staff_login
from wallets.models import Wallet
from wallets.tests.factories import DEFAULT_PIN

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:transactions_transaction_changelist"
MONEY_FORM = "admin:transactions_transaction_money_movement"


@pytest.fixture
def usd() -> Currency:
    currency = Currency.objects.get(code="USD")
    currency.withdrawal_approval_threshold = Decimal("100")
    currency.save()
    return currency


@pytest.fixture
def finance(client):
    operator = StaffFactory(groups=["Finance"])
    verified_staff_login(client, operator)
    return operator


@pytest.fixture
def support(client):
    operator = StaffFactory(groups=["Support"])
    verified_staff_login(client, operator)
    return operator


@pytest.fixture
def funded_wallet(usd):
    wallet = WalletWithBalanceFactory()
    confirmed_deposit(wallet, "1000.00")
    return wallet


@pytest.fixture
def pending_withdrawal(funded_wallet, usd) -> Transaction:
    return transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="150", pin=DEFAULT_PIN
    )


def asset_of(wallet: Wallet, currency: str = "USD") -> BalanceAsset:
    return BalanceAsset.objects.get(balance__wallet=wallet, currency_id=currency)


def run_action(client, action: str, objects, reason: str | None = None):
    """Select objects on the changelist and run an action; with ``reason``, also submit its reason page."""
    data = {"action": action, "_selected_action": [str(obj.pk) for obj in objects]}
    if reason is not None:
        data |= {"apply": "1", "reason": reason}
    return client.post(reverse(CHANGELIST), data, follow=reason is not None)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def action_names(response) -> set[str]:
    return {name for name, _ in response.context["action_form"].fields["action"].choices if name}


# --- changelists ---------------------------------------------------------------------------------


def test_transaction_changelist_query_count_does_not_grow_with_rows(
    client, finance, usd, django_assert_max_num_queries
):
    wallets = [WalletWithBalanceFactory() for _ in range(3)]
    for wallet in wallets:
        confirmed_deposit(wallet, "10")
    with django_assert_max_num_queries(12) as few:
        assert client.get(reverse(CHANGELIST)).status_code == 200

    for _ in range(10):
        for wallet in wallets:
            confirmed_deposit(wallet, "1")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 33


def test_entry_changelist_query_count_does_not_grow_with_rows(client, finance, usd, django_assert_max_num_queries):
    wallet = WalletWithBalanceFactory()
    confirmed_deposit(wallet, "10")
    url = reverse("admin:transactions_entry_changelist")
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200
    for _ in range(10):
        confirmed_deposit(wallet, "1")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


def test_search_finds_by_id_address_and_owner_email(client, finance, funded_wallet, usd):
    other = WalletWithBalanceFactory()
    theirs = confirmed_deposit(other, "5")
    mine = Transaction.objects.filter(wallet=funded_wallet)

    def found(term):
        return set(client.get(reverse(CHANGELIST), {"q": term}).context["cl"].result_list)

    assert found(str(theirs.pk)) == {theirs}
    assert found(funded_wallet.address.lower()) == set(mine)
    assert found(other.owner.email.upper()) == {theirs}
    assert found("no-such-thing") == set()


def test_paginator_estimates_an_unfiltered_huge_table_and_caps_a_filtered_count(usd, monkeypatch):
    wallet = WalletWithBalanceFactory()
    for _ in range(4):
        confirmed_deposit(wallet, "1")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_limit", 2)
    monkeypatch.setattr("walletmanager.admin._estimated_rows", lambda table: 1_000_000)

    assert EstimatedCountPaginator(Transaction.objects.all(), 50).count == 1_000_000
    assert EstimatedCountPaginator(Transaction.objects.filter(kind="deposit"), 50).count == 3


# --- actions through the reason page -------------------------------------------------------------


def test_approve_asks_for_a_reason_then_posts_the_withdrawal(client, finance, pending_withdrawal):
    page = run_action(client, "approve_withdrawals", [pending_withdrawal])
    assert page.status_code == 200
    assert b"Reason" in page.content and f'value="{pending_withdrawal.pk}"'.encode() in page.content

    response = run_action(client, "approve_withdrawals", [pending_withdrawal], reason="KYC checked")

    pending_withdrawal.refresh_from_db()
    assert pending_withdrawal.status == "posted"
    assert asset_of(pending_withdrawal.wallet).held == 0
    assert asset_of(pending_withdrawal.wallet).posted == Decimal("850")
    event = AuditEvent.objects.get(action="withdrawal.approved", target_id=str(pending_withdrawal.pk))
    assert event.actor == finance and event.reason == "KYC checked"
    assert f"Approved withdrawal {str(pending_withdrawal.pk)[:8]} of 150.00 USD: posted." in messages_of(response)


def test_reject_needs_a_reason_and_releases_the_hold(client, finance, pending_withdrawal):
    blank = run_action(client, "reject_withdrawals", [pending_withdrawal], reason="")
    assert blank.status_code == 200 and b"This field is required" in blank.content
    pending_withdrawal.refresh_from_db()
    assert pending_withdrawal.status == "pending"

    response = run_action(client, "reject_withdrawals", [pending_withdrawal], reason="Suspicious destination")

    pending_withdrawal.refresh_from_db()
    assert pending_withdrawal.status == "rejected"
    assert asset_of(pending_withdrawal.wallet).held == 0
    assert AuditEvent.objects.filter(
        action="withdrawal.rejected", target_id=str(pending_withdrawal.pk), reason="Suspicious destination"
    ).exists()
    assert f"Rejected withdrawal {str(pending_withdrawal.pk)[:8]} of 150.00 USD; the held money is released." in (
        messages_of(response)
    )


def test_reverse_is_requested_then_a_second_operator_approves_it(client, finance, usd, pending_withdrawal):
    deposit = confirmed_deposit(WalletWithBalanceFactory(), "40")

    response = run_action(client, "reverse_transactions", [deposit, pending_withdrawal], reason="Bank recalled it")

    shown = messages_of(response)
    assert (
        f"Requested the reversal of deposit {str(deposit.pk)[:8]} of 40.00 USD: another operator with the same "
        "permission approves it in Approvals." in shown
    )
    assert any(  # the refused one
        message.startswith(f"Withdrawal {str(pending_withdrawal.pk)[:8]} of 150.00 USD: refused — ")
        for message in shown
    )
    deposit.refresh_from_db()
    assert deposit.status == "posted"  # nothing moved yet: one operator alone cannot reverse
    request = ApprovalRequest.objects.get(action="reverse")
    assert (request.requested_by, request.status, request.reason) == (finance, "pending", "Bank recalled it")

    # The maker cannot approve it; a second Finance operator can, from the approvals queue.
    approvals = reverse("admin:approvals_approvalrequest_changelist")
    own = client.post(
        approvals,
        {"action": "approve_requests", "_selected_action": [request.pk], "apply": "1", "reason": ""},
        follow=True,
    )
    assert any("same_operator" in m or "A second operator" in m for m in messages_of(own))
    request.refresh_from_db()
    assert request.status == "pending"
    checker = StaffFactory(groups=["Finance"])
    verified_staff_login(client, checker)
    client.post(
        approvals, {"action": "approve_requests", "_selected_action": [request.pk], "apply": "1", "reason": "ok"}
    )

    request.refresh_from_db()
    deposit.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", checker)
    assert deposit.status == "reversed"
    reversal = Transaction.objects.get(reverses=deposit)
    assert reversal.kind == "reversal" and reversal.entries.count() == deposit.entries.count()
    assert AuditEvent.objects.filter(action="deposit.reversed", actor=checker, reason="Bank recalled it").exists()
    pending_withdrawal.refresh_from_db()
    assert pending_withdrawal.status == "pending"


def test_support_does_not_see_finance_actions_nor_the_money_form(client, support, pending_withdrawal):
    response = client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert action_names(response) == {"export_csv"}
    assert b"New deposit / adjustment" not in response.content
    assert client.get(reverse(MONEY_FORM)).status_code == 403

    # Posting the action anyway does nothing.
    run_action(client, "approve_withdrawals", [pending_withdrawal], reason="sneaky")
    pending_withdrawal.refresh_from_db()
    assert pending_withdrawal.status == "pending"


def test_finance_sees_its_actions_and_the_money_form_button(client, finance, funded_wallet):
    response = client.get(reverse(CHANGELIST))
    assert action_names(response) == {
        "approve_withdrawals",
        "reject_withdrawals",
        "confirm_deposits",
        "reject_deposits",
        "reverse_transactions",
        "export_csv",
    }
    assert b"New deposit / adjustment" in response.content


def test_nothing_is_editable_on_a_posted_transaction(client, finance, funded_wallet):
    deposit = Transaction.objects.get(wallet=funded_wallet, kind="deposit")
    change_url = reverse("admin:transactions_transaction_change", args=[deposit.pk])

    page = client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content and b'name="amount"' not in page.content
    assert str(funded_wallet.address).encode() in page.content  # the entries inline shows the legs

    client.post(change_url, {"amount": "999999", "status": "posted"})
    deposit.refresh_from_db()
    assert deposit.amount == Decimal("1000")
    assert client.get(reverse("admin:transactions_transaction_add")).status_code == 403
    assert client.post(reverse("admin:transactions_transaction_delete", args=[deposit.pk])).status_code == 403
    entry = Entry.objects.filter(transaction=deposit).first()
    assert client.post(reverse("admin:transactions_entry_change", args=[entry.pk]), {"amount": "1"}).status_code == 403


# --- deposit / adjustment form -------------------------------------------------------------------


def test_finance_deposits_and_adjusts_through_the_form(client, finance, funded_wallet, usd):
    response = client.post(
        reverse(MONEY_FORM),
        {
            "wallet": funded_wallet.address,
            "operation": "deposit",
            "currency": "USD",
            "amount": "25.50",
            "reason": "Wire 42",
        },
        follow=True,
    )
    deposit = Transaction.objects.filter(wallet=funded_wallet, kind="deposit").order_by("-created_at").first()
    assert deposit.amount == Decimal("25.50") and deposit.created_by == finance and deposit.description == "Wire 42"
    assert deposit.status == "pending" and deposit.reference.startswith("WM-")
    assert response.redirect_chain[-1][0] == reverse("admin:transactions_transaction_change", args=[deposit.pk])
    assert any(deposit.reference in message for message in messages_of(response))

    response = client.post(
        reverse(MONEY_FORM),
        {
            "wallet": str(funded_wallet.pk),
            "operation": "debit",
            "currency": "USD",
            "amount": "5.50",
            "reason": "Duplicate credit",
        },
        follow=True,
    )
    request = ApprovalRequest.objects.get(action="adjust")
    assert request.payload == {
        "wallet": str(funded_wallet.pk),
        "currency": "USD",
        "amount": "5.50",
        "direction": "debit",
    }
    assert (request.requested_by, request.reason, request.status) == (finance, "Duplicate credit", "pending")
    assert response.redirect_chain[-1][0] == reverse("admin:approvals_approvalrequest_change", args=[request.pk])
    # Nothing moved: the deposit waits for its money, the adjustment for a second operator.
    assert not Transaction.objects.filter(kind="adjustment").exists()
    assert asset_of(funded_wallet).posted == Decimal("1000.00")
    assert AuditEvent.objects.filter(action="approval.requested", actor=finance, reason="Duplicate credit").exists()


def test_a_refused_movement_shows_the_domain_error_on_the_form_and_changes_nothing(client, finance, funded_wallet):
    before = asset_of(funded_wallet).posted

    own = StaffFactory(groups=["Finance"])
    own_wallet = WalletWithBalanceFactory(owner=own)
    verified_staff_login(client, own)
    own_money = client.post(
        reverse(MONEY_FORM),
        {"wallet": own_wallet.address, "operation": "credit", "currency": "USD", "amount": "5", "reason": "bonus"},
    )
    verified_staff_login(client, finance)
    no_reason = client.post(
        reverse(MONEY_FORM), {"wallet": funded_wallet.address, "operation": "credit", "currency": "USD", "amount": "1"}
    )
    too_precise = client.post(
        reverse(MONEY_FORM),
        {"wallet": funded_wallet.address, "operation": "deposit", "currency": "USD", "amount": "1.001"},
    )
    unknown = client.post(
        reverse(MONEY_FORM), {"wallet": "NOPE", "operation": "deposit", "currency": "USD", "amount": "1"}
    )

    assert own_money.status_code == 200 and "own_wallet" in own_money.content.decode()
    assert no_reason.context["form"].errors["reason"] == ["An adjustment needs a reason."]
    assert "amount" in too_precise.context["form"].errors
    assert "No client wallet" in unknown.context["form"].errors["wallet"][0]
    assert asset_of(funded_wallet).posted == before
    assert not Transaction.objects.filter(kind="adjustment").exists()
    assert not ApprovalRequest.objects.exists()


# --- CSV export ----------------------------------------------------------------------------------


def test_export_selected_streams_a_csv_of_just_those_transactions(client, support, funded_wallet, usd):
    other = confirmed_deposit(funded_wallet, "7")
    confirmed_deposit(funded_wallet, "8")

    response = client.post(reverse(CHANGELIST), {"action": "export_csv", "_selected_action": [str(other.pk)]})

    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["id"], row["amount"]) for row in rows] == [(str(other.pk), "7.00")]


# --- rates and fee rules -------------------------------------------------------------------------


def test_exchange_rates_are_added_with_validation_and_an_audit_event(client, finance):
    url = reverse("admin:transactions_exchangerate_add")
    same = client.post(url, {"base": "EUR", "quote": "EUR", "rate": "1", "source": "manual"})
    negative = client.post(url, {"base": "EUR", "quote": "USD", "rate": "-1", "source": "manual"})
    assert "quote" in same.context["adminform"].form.errors
    assert "rate" in negative.context["adminform"].form.errors
    assert not ExchangeRate.objects.exists()

    client.post(url, {"base": "EUR", "quote": "USD", "rate": "1.085", "source": "desk"})

    rate = ExchangeRate.objects.get()
    assert rate.rate == Decimal("1.085")
    assert AuditEvent.objects.filter(action="exchange_rate.created", target_id=str(rate.pk), actor=finance).exists()


def test_fee_rules_are_validated(client, finance):
    url = reverse("admin:transactions_feerule_add")
    base = {
        "kind": "withdrawal",
        "currency": "USD",
        "percent_bps": "50",
        "flat": "0",
        "min_fee": "1",
        "is_active": "on",
    }

    upside_down = client.post(url, base | {"max_fee": "0.5"})
    too_precise = client.post(url, base | {"flat": "0.001"})
    reversal = client.post(url, base | {"kind": "reversal"})
    assert "max_fee" in upside_down.context["adminform"].form.errors
    assert "flat" in too_precise.context["adminform"].form.errors
    assert "kind" in reversal.context["adminform"].form.errors
    assert not FeeRule.objects.exists()

    client.post(url, base | {"max_fee": "10"})
    duplicate = client.post(url, base | {"max_fee": "20"})

    assert FeeRule.objects.count() == 1
    assert duplicate.context["adminform"].form.errors  # one active rule per kind and currency
    assert AuditEvent.objects.filter(action="fee_rule.created").count() == 1
