"""No operator moves money alone (SPEC §12): adjustments, reversals and credit limits are requests a
different operator with the same permission approves; nobody decides on a wallet they own."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from balances.models import Currency
from transactions import services
from transactions.models import Transaction
from users.tests.factories import StaffFactory
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.services import approval_approve, approval_expire_stale, approval_reject, approval_request
from walletmanager.exceptions import DomainError, OwnWallet, PermissionDeniedError, SameOperator
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, assert_ledger_consistent, deposit, make_wallet, position
from wallets.services import wallet_create, wallet_request_credit_limit

pytestmark = pytest.mark.django_db


@pytest.fixture
def maker():
    return StaffFactory(groups=["Finance"])


@pytest.fixture
def checker():
    return StaffFactory(groups=["Finance"])


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def adjust(maker, wallet, amount="25", direction="credit", reason="Refund of a double charge"):
    return approval_request(
        actor=maker,
        action="adjust",
        reason=reason,
        wallet=wallet,
        currency=Currency.objects.get(code="USD"),
        amount=amount,
        direction=direction,
    )


def test_an_adjustment_waits_for_a_second_operator_then_posts(maker, checker, funded_wallet):
    request = adjust(maker, funded_wallet)

    assert (request.status, request.summary) == ("pending", f"Adjustment: credit 25.00 USD to {funded_wallet.address}")
    assert position(funded_wallet)[0] == Decimal(100)
    with pytest.raises(SameOperator) as error:
        approval_approve(actor=maker, request=request)
    assert error.value.code == "same_operator" and error.value.status_code == 403

    approved = approval_approve(actor=checker, request=request, reason="ticket 7 checked")

    assert (approved.status, approved.decided_by, approved.decision_reason) == ("approved", checker, "ticket 7 checked")
    adjustment = Transaction.objects.get(kind="adjustment")
    assert approved.result == {"transaction": str(adjustment.pk)}
    assert (adjustment.reason, adjustment.created_by) == ("Refund of a double charge", checker)
    assert position(funded_wallet)[0] == Decimal(125)
    actions = list(AuditEvent.objects.filter(target_id=str(request.pk)).values_list("action", "actor"))
    assert actions == [("approval.approved", checker.pk), ("approval.requested", maker.pk)]
    assert_ledger_consistent()


def test_a_refused_action_leaves_the_request_failed_with_its_code(maker, checker, funded_wallet):
    request = adjust(maker, funded_wallet, amount="500", direction="debit", reason="Chargeback")

    decided = approval_approve(actor=checker, request=request)

    assert (decided.status, decided.failure_code) == ("failed", "insufficient_funds")
    assert "available" in decided.result["detail"]
    assert position(funded_wallet)[0] == Decimal(100)
    assert not Transaction.objects.filter(kind="adjustment").exists()
    with pytest.raises(DomainError) as error:
        approval_approve(actor=checker, request=decided)
    assert error.value.code == "invalid_state"


def test_a_rejected_request_runs_nothing_and_needs_a_reason(maker, checker, funded_wallet):
    request = adjust(maker, funded_wallet)
    with pytest.raises(DomainError) as error:
        approval_reject(actor=checker, request=request, reason=" ")
    assert error.value.code == "invalid"

    rejected = approval_reject(actor=checker, request=request, reason="No ticket for this")

    assert (rejected.status, rejected.decision_reason) == ("rejected", "No ticket for this")
    assert position(funded_wallet)[0] == Decimal(100)


@pytest.mark.parametrize("groups", [["Support"], []], ids=["support", "no-group"])
def test_operators_without_the_permission_can_neither_ask_nor_approve(maker, funded_wallet, groups):
    other = StaffFactory(groups=groups)
    with pytest.raises(PermissionDeniedError):
        adjust(other, funded_wallet)
    request = adjust(maker, funded_wallet)
    with pytest.raises(PermissionDeniedError):
        approval_approve(actor=other, request=request)
    assert ApprovalRequest.objects.get().status == "pending"


def test_nobody_adjusts_reverses_or_approves_a_withdrawal_on_their_own_wallet(maker, checker, usd):
    own = make_wallet(owner=checker)
    deposit(own, "100")
    with pytest.raises(OwnWallet):
        adjust(checker, own)
    request = adjust(maker, own)
    with pytest.raises(OwnWallet) as error:
        approval_approve(actor=checker, request=request)
    assert error.value.code == "own_wallet"

    usd.withdrawal_approval_threshold = Decimal("50")
    usd.save()
    pending = services.transaction_withdraw(actor=checker, wallet=own, currency=usd, amount="60", pin=PIN)
    with pytest.raises(OwnWallet):
        services.transaction_approve(actor=checker, transaction=pending)
    with pytest.raises(OwnWallet):
        approval_request(
            actor=checker, action="reverse", reason="mine", transaction=Transaction.objects.get(kind="deposit")
        )
    assert position(own) == (Decimal(100), Decimal(60), Decimal(40))


def test_a_paid_out_withdrawal_is_reversed_only_with_two_operators(maker, checker, funded_wallet, usd):
    withdrawal = services.transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="40", pin=PIN
    )
    request = approval_request(actor=maker, action="reverse", reason="Bank returned it", transaction=withdrawal)
    withdrawal.refresh_from_db()
    assert withdrawal.status == "posted" and position(funded_wallet)[0] == Decimal(60)

    approval_approve(actor=checker, request=request)

    withdrawal.refresh_from_db()
    assert withdrawal.status == "reversed" and position(funded_wallet)[0] == Decimal(100)


def test_stale_requests_expire_and_cannot_be_approved(maker, checker, funded_wallet, settings):
    old = adjust(maker, funded_wallet)
    ApprovalRequest.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - settings.APPROVAL_TTL - timedelta(minutes=1)
    )
    fresh = adjust(maker, funded_wallet)

    assert approval_expire_stale() == 1
    old.refresh_from_db()
    assert old.status == "expired"
    with pytest.raises(DomainError):
        approval_approve(actor=checker, request=old)
    assert ApprovalRequest.objects.get(pk=fresh.pk).status == "pending"
    assert position(funded_wallet)[0] == Decimal(100)


# --- credit limits ---------------------------------------------------------------------------------


def test_a_credit_wallet_opens_without_credit_until_a_second_operator_approves_the_limit(maker, checker, client_user):
    wallet = wallet_create(
        actor=maker,
        owner=client_user,
        name="Line",
        kind="credit",
        balance_kind="regular",
        currency="USD",
        pin=PIN,
        credit_limit=Decimal("500"),
    )

    assert wallet.credit_limit == 0
    request = ApprovalRequest.objects.get(action="set_credit_limit")
    assert request.payload == {"wallet": str(wallet.pk), "credit_limit": "500"}
    approval_approve(actor=checker, request=request)
    wallet.refresh_from_db()
    assert wallet.credit_limit == Decimal(500)
    assert wallet.balance.assets.get().credit_limit == Decimal(500)


@pytest.mark.parametrize("groups", [["Support"], []], ids=["support", "no-group"])
def test_only_finance_opens_credit_wallets_or_touches_limits(client_user, maker, checker, groups):
    other = StaffFactory(groups=groups)
    with pytest.raises(PermissionDeniedError):
        wallet_create(
            actor=other,
            owner=client_user,
            name="Line",
            kind="credit",
            balance_kind="regular",
            currency="USD",
            pin=PIN,
            credit_limit=Decimal("500"),
        )
    wallet = wallet_create(
        actor=maker, owner=client_user, name="Line", kind="credit", balance_kind="regular", currency="USD", pin=PIN
    )
    with pytest.raises(PermissionDeniedError):
        wallet_request_credit_limit(actor=other, wallet=wallet, credit_limit="100", reason="x")
    response = api_for(other).patch(f"/api/wallets/{wallet.pk}/", {"credit_limit": "100", "reason": "x"}, format="json")
    assert response.status_code == 403
    assert not ApprovalRequest.objects.exists()


def test_raising_a_limit_is_a_request_lowering_it_applies_at_once(maker, checker, client_user):
    wallet = wallet_create(
        actor=maker, owner=client_user, name="Line", kind="credit", balance_kind="regular", currency="USD", pin=PIN
    )
    raised = api_for(maker).patch(
        f"/api/wallets/{wallet.pk}/", {"credit_limit": "300", "reason": "Good history"}, format="json"
    )
    assert raised.status_code == 202 and raised.json()["action"] == "set_credit_limit"
    wallet.refresh_from_db()
    assert wallet.credit_limit == 0
    approved = api_for(checker).post(f"/api/approvals/{raised.json()['id']}/approve/", {}, format="json")
    assert approved.json()["status"] == "approved"

    lowered = api_for(maker).patch(f"/api/wallets/{wallet.pk}/", {"credit_limit": "100"}, format="json")
    assert lowered.status_code == 200 and lowered.json()["credit_limit"] == "100.00"


# --- the API and who sees what ------------------------------------------------------------------


def test_the_approvals_api_lists_what_an_operator_may_decide(maker, checker, funded_wallet):
    request = adjust(maker, funded_wallet)
    support = StaffFactory(groups=["Support"])

    listed = api_for(checker).get("/api/approvals/", {"status": "pending"}).json()["results"]
    assert [(item["id"], item["action"], item["requested_by"]) for item in listed] == [
        (request.pk, "adjust", maker.email)
    ]
    assert api_for(support).get("/api/approvals/").json()["results"] == []
    assert api_for(support).post(f"/api/approvals/{request.pk}/approve/", {}).status_code == 404
    assert api_for(funded_wallet.owner).get("/api/approvals/").status_code == 403
    rejected = api_for(checker).post(f"/api/approvals/{request.pk}/reject/", {}, format="json")
    assert rejected.status_code == 400 and list(rejected.json()["fields"]) == ["reason"]
    assert api_for(checker).get("/api/approvals/999999/").status_code == 404


def test_nobody_unblocks_or_unfreezes_their_own_wallet(client_user):
    from balances.services import balance_freeze, balance_unfreeze
    from wallets.services import wallet_block, wallet_unblock

    operator = StaffFactory(groups=["Support"])
    own = make_wallet(owner=operator)
    colleague = StaffFactory(groups=["Support"])
    wallet_block(actor=colleague, wallet=own, reason="Review")
    balance_freeze(actor=colleague, balance=own.balance, reason="Review")

    with pytest.raises(OwnWallet):
        wallet_unblock(actor=operator, wallet=own, reason="mine")
    with pytest.raises(OwnWallet):
        balance_unfreeze(actor=operator, balance=own.balance, reason="mine")
    own.refresh_from_db()
    own.balance.refresh_from_db()
    assert (own.status, own.balance.status) == ("blocked", "frozen")
    assert wallet_unblock(actor=colleague, wallet=own, reason="cleared").status == "active"
