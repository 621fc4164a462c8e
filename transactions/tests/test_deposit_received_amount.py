"""A Finance confirmation posts the amount asked for; a confirmation with another amount received is an
approval request that a second Finance operator decides (SPEC §12, four eyes). One operator alone
never mints money."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from transactions.models import Transaction
from users.tests.factories import StaffFactory
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import assert_ledger_consistent, make_wallet, position, system_position
from walletmanager.testing.two_factor import verified_staff_login

pytestmark = pytest.mark.django_db

URL = "/api/transactions/"


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def pending(wallet, client_user) -> dict:
    response = api_as(client_user).post(
        URL, {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "10.00"}
    )
    assert response.status_code == 201
    return response.json()


@pytest.fixture
def finance():
    return StaffFactory(email="finance@example.com", groups=["Finance"])


@pytest.fixture
def finance2():
    return StaffFactory(email="finance2@example.com", groups=["Finance"])


def test_the_reproduction_one_finance_operator_no_longer_mints_900000(wallet, pending, finance):
    response = api_as(finance).post(
        f"{URL}{pending['id']}/confirm/", {"reason": "saw it", "received_amount": "900000"}, format="json"
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["action"], body["status"], body["requested_by"]) == (
        "confirm_deposit_received",
        "pending",
        finance.email,
    )
    assert body["payload"] == {"transaction": pending["id"], "currency": "USD", "received_amount": "900000"}
    assert "900,000.00 USD received, 10.00 USD asked for" in body["summary"]
    assert Transaction.objects.get(pk=pending["id"]).status == "pending"
    assert position(wallet) == (0, 0, 0) and system_position("external") == 0
    assert AuditEvent.objects.filter(action="approval.requested").count() == 1
    assert not AuditEvent.objects.filter(action="deposit.confirmed").exists()


def test_a_second_finance_operator_approves_and_the_received_amount_posts(wallet, pending, finance, finance2):
    request = (
        api_as(finance)
        .post(f"{URL}{pending['id']}/confirm/", {"reason": "bank statement line 12", "received_amount": "9.50"})
        .json()
    )

    own = api_as(finance).post(f"/api/approvals/{request['id']}/approve/", {"reason": "me"})
    support = api_as(StaffFactory(groups=["Support"])).post(f"/api/approvals/{request['id']}/approve/", {})
    approved = api_as(finance2).post(f"/api/approvals/{request['id']}/approve/", {"reason": "checked the statement"})

    assert (own.status_code, own.json()["code"]) == (403, "same_operator")
    assert support.status_code in (403, 404)  # Support does not even see the request
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert approved.json()["result"] == {"transaction": pending["id"], "received_amount": "9.50"}
    deposit = Transaction.objects.get(pk=pending["id"])
    assert (deposit.status, deposit.amount, deposit.received_amount) == ("posted", Decimal("10"), Decimal("9.50"))
    assert position(wallet) == (Decimal("9.50"), 0, Decimal("9.50"))
    assert AuditEvent.objects.get(action="deposit.confirmed", target_id=pending["id"]).actor == finance2
    assert_ledger_consistent()


def test_nobody_decides_on_their_own_wallet_and_the_recorder_does_not_confirm(finance, finance2, usd):
    own_wallet = make_wallet(owner=finance2)
    recorded = (
        api_as(finance)
        .post(URL, {"kind": "deposit", "wallet": str(own_wallet.pk), "currency": "USD", "amount": "10"})
        .json()
    )
    # The recorder cannot even ask; a third operator can, and the wallet's owner cannot approve.
    by_recorder = api_as(finance).post(f"{URL}{recorded['id']}/confirm/", {"reason": "x", "received_amount": "50"})
    third = StaffFactory(groups=["Finance"])
    request = api_as(third).post(f"{URL}{recorded['id']}/confirm/", {"reason": "x", "received_amount": "50"}).json()
    by_owner = api_as(finance2).post(f"/api/approvals/{request['id']}/approve/", {"reason": "mine"})

    assert (by_recorder.status_code, by_recorder.json()["code"]) == (403, "same_operator")
    assert (by_owner.status_code, by_owner.json()["code"]) == (403, "own_wallet")
    assert position(own_wallet) == (0, 0, 0)


def test_the_same_amount_posts_at_once_and_bad_amounts_are_400(wallet, pending, finance):
    bad = api_as(finance).post(f"{URL}{pending['id']}/confirm/", {"reason": "x", "received_amount": "1.001"})
    zero = api_as(finance).post(f"{URL}{pending['id']}/confirm/", {"reason": "x", "received_amount": "0"})
    same = api_as(finance).post(f"{URL}{pending['id']}/confirm/", {"reason": "x", "received_amount": "10"})

    assert bad.status_code == 400 and "received_amount" in bad.json()["fields"]
    assert zero.status_code == 400
    assert same.status_code == 200 and same.json()["status"] == "posted"
    assert not ApprovalRequest.objects.exists()


def test_a_request_for_a_deposit_settled_meanwhile_fails_and_moves_nothing(wallet, pending, finance, finance2):
    request = api_as(finance).post(f"{URL}{pending['id']}/confirm/", {"reason": "x", "received_amount": "12"}).json()
    api_as(StaffFactory(groups=["Finance"])).post(f"{URL}{pending['id']}/confirm/", {"reason": "it came"})

    approved = api_as(finance2).post(f"/api/approvals/{request['id']}/approve/", {"reason": "ok"})

    assert (approved.json()["status"], approved.json()["failure_code"]) == ("failed", "invalid_state")
    assert position(wallet)[0] == Decimal("10")


def test_the_admin_confirmation_asks_a_second_operator_and_the_desk_shows_it(wallet, pending, finance, finance2):
    browser = Client()
    verified_staff_login(browser, finance)
    page = reverse("admin:transactions_transaction_change", args=[pending["id"]])
    assert 'name="received_amount"' in browser.get(page).content.decode()

    response = browser.post(
        reverse("admin:transactions_transaction_decide", args=[pending["id"]]),
        {"decision": "confirm", "reason": "wire seen", "received_amount": "900000"},
        follow=True,
    )

    text = response.content.decode()
    request = ApprovalRequest.objects.get()
    assert "Nothing posted yet" in text and f"Approval request {request.pk} waits for a second Finance operator" in text
    assert position(wallet) == (0, 0, 0)
    checker = Client()
    verified_staff_login(checker, finance2)
    desk = checker.get("/admin/desk/").content.decode()
    assert "Deposit received (other amount)" in desk and "900,000.00 USD" in desk
    assert wallet.owner.email in desk and wallet.address in desk  # with its context


def test_the_admin_confirmation_without_an_amount_posts_what_was_asked(wallet, pending, finance):
    browser = Client()
    verified_staff_login(browser, finance)

    response = browser.post(
        reverse("admin:transactions_transaction_decide", args=[pending["id"]]),
        {"decision": "confirm", "reason": "wire seen", "received_amount": ""},
        follow=True,
    )

    assert "it is posted" in response.content.decode()
    assert position(wallet)[0] == Decimal("10")
