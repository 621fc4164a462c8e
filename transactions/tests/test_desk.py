"""The approvals desk (issue 13): one page with everything that waits for a decision and the context to
take it, and Approve / Reject with a reason on each object's own page, through the same services and
permissions as the changelist actions and the API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from balances.models import Currency
from transactions import deposits, services
from transactions.models import Transaction
from users.tests.factories import StaffFactory
from walletmanager.approvals.services import approval_request
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, deposit, make_wallet, position
from walletmanager.testing.two_factor import verified_staff_login

pytestmark = pytest.mark.django_db

DESK = "/admin/desk/"


@pytest.fixture
def usd() -> Currency:
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("100"))
    return Currency.objects.get(code="USD")


@pytest.fixture
def waiting(usd):
    """One item in each queue: a withdrawal above the threshold, a deposit without its money yet, and an
    adjustment asked for by one Finance operator."""
    wallet = make_wallet()
    deposit(wallet, "1000.00")
    withdrawal = services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="150", pin=PIN)
    waiting_deposit = deposits.transaction_deposit(
        actor=wallet.owner, wallet=wallet, currency=usd, amount=Decimal("250")
    )
    maker = StaffFactory(groups=["Finance"])
    request = approval_request(
        actor=maker,
        action="adjust",
        reason="Refund of a double charge",
        wallet=wallet,
        currency=usd,
        amount="25",
        direction="credit",
    )
    return {"wallet": wallet, "withdrawal": withdrawal, "deposit": waiting_deposit, "request": request, "maker": maker}


def text_of(response) -> str:
    return " ".join(response.content.decode().split())


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def decide(client, obj, decision: str, reason: str = ""):
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_decide", args=[obj.pk])
    return client.post(url, {"decision": decision, "reason": reason}, follow=True)


def test_the_desk_lists_every_queue_with_amount_client_balance_age_and_history(client, waiting):
    verified_staff_login(client, StaffFactory(groups=["Finance"]))
    wallet = waiting["wallet"]

    page = text_of(client.get(DESK))

    assert "3 items wait for a decision" in page
    withdrawals = page.split('id="desk-withdrawals"')[1].split('id="desk-deposits"')[0]
    assert "Pending withdrawals (1)" in withdrawals
    assert "150.00 USD" in withdrawals
    assert f'href="/admin/users/user/{wallet.owner_id}/change/">{wallet.owner.email}</a>' in withdrawals
    # available: 1000 posted − 150 held; the history shows the deposit that funded it, not the item itself
    assert "850.00 USD" in withdrawals
    assert "Deposit 1,000.00 USD (posted)" in withdrawals
    assert "0 minutes" in withdrawals
    assert f'href="/admin/transactions/transaction/{waiting["withdrawal"].pk}/change/"' in withdrawals
    deposits_queue = page.split('id="desk-deposits"')[1].split('id="desk-requests"')[0]
    assert "250.00 USD" in deposits_queue and waiting["deposit"].reference in deposits_queue
    requests = page.split('id="desk-requests"')[1]
    assert "25.00 USD" in requests and "Refund" not in requests  # the summary, not the maker's private reason
    assert f"asked by {waiting['maker'].email}" in requests and wallet.owner.email in requests
    assert f'href="/admin/approvals/approvalrequest/{waiting["request"].pk}/change/"' in requests


def test_the_desk_is_linked_from_every_admin_page_and_the_header_is_branded(client, waiting):
    verified_staff_login(client, StaffFactory(groups=["Support"]))

    page = client.get("/admin/").content.decode()

    assert 'id="desk-link"' in page and 'href="/admin/desk/"' in page
    assert "WalletManager back office" in page and "Django administration" not in page


def test_finance_approves_a_withdrawal_on_its_own_page_with_a_neutral_pending_banner(client, waiting):
    finance = StaffFactory(groups=["Finance"])
    verified_staff_login(client, finance)
    withdrawal = waiting["withdrawal"]

    page = client.get(reverse("admin:transactions_transaction_change", args=[withdrawal.pk])).content.decode()

    assert 'class="status-banner status-pending" role="status"' in page and 'role="alert"' not in page
    assert "Pending: waits for approval (150.00 USD held)." in page
    assert 'id="decide-approve"' in page and 'id="decide-reject"' in page

    response = decide(client, withdrawal, "approve", "Verified with the client by phone")

    withdrawal.refresh_from_db()
    assert withdrawal.status == "posted"
    assert position(waiting["wallet"]) == (Decimal("850.00"), Decimal(0), Decimal("850.00"))
    event = AuditEvent.objects.get(action="withdrawal.approved", target_id=str(withdrawal.pk))
    assert (event.actor, event.reason) == (finance, "Verified with the client by phone")
    assert response.request["PATH_INFO"] == DESK
    assert any(
        message.startswith(f"Approved the withdrawal {str(withdrawal.pk)[:8]} of 150.00 USD")
        for message in messages_of(response)
    )
    assert "Pending withdrawals (0)" in text_of(response)
    history = client.get(reverse("admin:transactions_transaction_history", args=[withdrawal.pk])).content.decode()
    assert "Verified with the client by phone" in history and "it is posted" in history


def test_rejecting_without_a_reason_is_refused_with_a_message_and_changes_nothing(client, waiting):
    verified_staff_login(client, StaffFactory(groups=["Finance"]))
    withdrawal = waiting["withdrawal"]

    response = decide(client, withdrawal, "reject", "  ")

    withdrawal.refresh_from_db()
    assert withdrawal.status == "pending"
    assert "Reject: give the reason first (it goes to the audit trail)." in messages_of(response)
    assert response.request["PATH_INFO"] == reverse("admin:transactions_transaction_change", args=[withdrawal.pk])

    decide(client, withdrawal, "reject", "Destination on a sanctions list")
    withdrawal.refresh_from_db()
    assert withdrawal.status == "rejected"
    assert position(waiting["wallet"]) == (Decimal("1000.00"), Decimal(0), Decimal("1000.00"))


def test_finance_confirms_a_pending_deposit_on_its_page(client, waiting):
    verified_staff_login(client, StaffFactory(groups=["Finance"]))
    pending = waiting["deposit"]
    page = client.get(reverse("admin:transactions_transaction_change", args=[pending.pk])).content.decode()
    assert "Pending deposit: waits for 250.00 USD" in page and 'id="decide-confirm"' in page

    response = decide(client, pending, "confirm", "Seen on the bank statement")

    pending.refresh_from_db()
    assert pending.status == "posted"
    assert any(message.startswith("Confirmed the deposit") for message in messages_of(response))


def test_the_maker_is_told_they_cannot_approve_their_own_request_and_a_second_operator_can(client, waiting):
    request = waiting["request"]
    verified_staff_login(client, waiting["maker"])
    page = client.get(reverse("admin:approvals_approvalrequest_change", args=[request.pk])).content.decode()
    assert 'class="status-banner status-pending"' in page and 'id="decide-approve"' not in page
    assert "You requested this; another operator must decide." in page

    refused = decide(client, request, "approve", "")

    request.refresh_from_db()
    assert request.status == "pending"
    assert any("Approve refused:" in message and "same_operator" in message for message in messages_of(refused))

    checker = StaffFactory(groups=["Finance"])
    verified_staff_login(client, checker)
    response = decide(client, request, "approve", "Matches the ticket")

    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_reason) == ("approved", checker, "Matches the ticket")
    assert position(waiting["wallet"])[0] == Decimal("1025.00")
    assert any(message.startswith(f"Approved request #{request.pk}") for message in messages_of(response))


def test_support_sees_the_desk_but_no_decision_and_cannot_post_one(client, waiting):
    verified_staff_login(client, StaffFactory(groups=["Support"]))
    withdrawal = waiting["withdrawal"]

    desk = text_of(client.get(DESK))
    page = client.get(reverse("admin:transactions_transaction_change", args=[withdrawal.pk])).content.decode()
    response = client.post(
        reverse("admin:transactions_transaction_decide", args=[withdrawal.pk]), {"decision": "approve", "reason": ""}
    )

    assert "Pending withdrawals (1)" in desk and "Requests for a second operator (0)" in desk
    assert 'id="decision-form"' not in page
    assert response.status_code == 403
    withdrawal.refresh_from_db()
    assert withdrawal.status == "pending"


def test_operators_without_ledger_access_cannot_open_the_desk(client, waiting):
    verified_staff_login(client, StaffFactory())
    assert client.get(DESK).status_code == 403


def test_the_desk_query_count_does_not_grow_with_rows(client, usd, django_assert_max_num_queries):
    maker = StaffFactory(groups=["Finance"])
    for _ in range(6):
        wallet = make_wallet()
        deposit(wallet, "500")
        services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="120", pin=PIN)
        deposits.transaction_deposit(actor=wallet.owner, wallet=wallet, currency=usd, amount=Decimal("40"))
        approval_request(
            actor=maker, action="adjust", reason="r", wallet=wallet, currency=usd, amount="5", direction="credit"
        )
        approval_request(
            actor=maker,
            action="reverse",
            reason="r",
            transaction=Transaction.objects.filter(wallet=wallet, kind="deposit", status="posted").first(),
        )
    verified_staff_login(client, StaffFactory(groups=["Finance"]))

    # session, user, permissions (2), currencies, 2 queues, requests, the reversed transactions,
    # the wallets, balances, history
    with django_assert_max_num_queries(16):
        page = text_of(client.get(DESK))

    assert "Pending withdrawals (6)" in page and "Requests for a second operator (12)" in page
