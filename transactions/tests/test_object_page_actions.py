"""Every action where the operator stands (SPEC §8, issue 24): block / unblock / close on the user's and the
wallet's page, freeze / unfreeze beside each balance, a reversal asked for on the transaction's page, and
approve / reject on a pending item's page with the desk's context. The same services as the list actions and
the API, behind the same permissions; a forged post by an operator without the power changes nothing."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from balances.models import Currency
from transactions import services
from transactions.models import Transaction
from users.models import User
from users.tests.factories import StaffFactory
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, deposit, make_wallet
from walletmanager.testing.two_factor import verified_staff_login
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def page_of(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def decide(client, obj, decision: str, reason: str = "", *, next_page: str | None = None):
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_decide", args=[obj.pk])
    return client.post(url, {"decision": decision, "reason": reason, "next": next_page or page_of(obj)}, follow=True)


def button(html: str, name: str) -> str:
    """The decision button called ``name`` as the page renders it ("" when there is none)."""
    found = re.search(rf'<button[^>]*id="decide-{name}"[^>]*>', html)
    return found.group(0) if found else ""


@pytest.fixture
def support(client):
    operator = StaffFactory(groups=["Support"])
    verified_staff_login(client, operator)
    return operator


@pytest.fixture
def funded():
    wallet = make_wallet()
    deposit(wallet, "500.00")
    return wallet


# --- the user's page -------------------------------------------------------------------------------


def test_support_blocks_a_client_from_their_page_with_a_reason(client, support, funded):
    user = funded.owner
    html = client.get(page_of(user)).content.decode()
    # Block asks for its reason first (no formnovalidate) and looks like what stops things.
    assert "decision-danger" in button(html, "block") and "formnovalidate" not in button(html, "block")

    response = decide(client, user, "block", "Card fraud reported by the issuer")

    user.refresh_from_db()
    assert user.status == User.Status.BLOCKED and user.block_reason == "Card fraud reported by the issuer"
    assert f"Blocked {user.email}." in messages_of(response)
    assert response.request["PATH_INFO"] == page_of(user)  # back where the operator stands
    assert "This user is blocked" in text_of(response)
    assert AuditEvent.objects.filter(action="user.blocked", target_id=str(user.pk), actor=support).exists()
    # The page now offers Unblock instead of Block.
    assert button(response.content.decode(), "unblock") and not button(response.content.decode(), "block")


def test_blocking_without_a_reason_is_refused_on_the_page_and_changes_nothing(client, support, funded):
    user = funded.owner

    response = decide(client, user, "block", "   ")

    user.refresh_from_db()
    assert user.status == User.Status.ACTIVE
    assert "Block: give the reason first (it goes to the audit trail)." in messages_of(response)
    assert not AuditEvent.objects.filter(action="user.blocked", target_id=str(user.pk)).exists()


def test_the_user_page_shows_each_wallet_s_available_balance_first(client, support, funded):
    html = client.get(page_of(funded.owner)).content.decode()

    # The wallets panel comes before the identity rows, with what each wallet may spend.
    assert html.index('id="wallets-panel"') < html.index("field-email")
    panel = html.split('id="wallets-panel"')[1].split("</table>")[0]
    assert funded.address in panel and "500.00 USD" in panel


def test_support_freezes_a_balance_from_the_user_page_and_comes_back_to_it(client, support, funded):
    user = funded.owner
    html = client.get(page_of(user)).content.decode()
    balance_decide = reverse("admin:balances_balance_decide", args=[funded.balance.pk])
    freeze = button(html, f"freeze-{funded.address}")
    assert f'formaction="{balance_decide}"' in freeze and 'form="decision-form"' in freeze

    response = decide(client, funded.balance, "freeze", "Chargeback under review", next_page=page_of(user))

    funded.balance.refresh_from_db()
    assert funded.balance.status == "frozen" and funded.balance.freeze_reason == "Chargeback under review"
    assert response.request["PATH_INFO"] == page_of(user)
    assert f"Froze the balance of {funded.address}." in messages_of(response)


def test_an_operator_without_the_permission_sees_no_buttons_and_a_forged_post_changes_nothing(client, funded):
    viewer = StaffFactory()
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "view_wallet", "view_balance"]))
    verified_staff_login(client, viewer)
    user = funded.owner

    html = client.get(page_of(user)).content.decode()
    assert 'id="decision-form"' not in html

    response = decide(client, user, "block", "I should not be able to")
    assert response.status_code == 403
    response = decide(client, funded.balance, "freeze", "Nor this")
    assert response.status_code == 403
    user.refresh_from_db()
    funded.balance.refresh_from_db()
    assert user.status == User.Status.ACTIVE and funded.balance.status == "active"


def test_a_next_page_elsewhere_is_ignored(client, support, funded):
    response = decide(client, funded.owner, "block", "Fraud", next_page="https://evil.example/phish")

    assert response.request["PATH_INFO"] == page_of(funded.owner)


# --- the wallet's page -----------------------------------------------------------------------------


def test_the_wallet_page_puts_the_balance_first_and_blocks_and_freezes_there(client, support, funded):
    html = client.get(page_of(funded)).content.decode()
    assert html.index("field-assets") < html.index("field-address")
    assert button(html, "block") and button(html, "freeze") and button(html, "close")

    response = decide(client, funded, "block", "Account takeover suspected")
    funded.refresh_from_db()
    assert funded.status == Wallet.Status.BLOCKED
    assert f"Blocked wallet {funded}." in messages_of(response)

    response = decide(client, funded.balance, "freeze", "Account takeover suspected", next_page=page_of(funded))
    funded.balance.refresh_from_db()
    assert funded.balance.status == "frozen"
    assert response.request["PATH_INFO"] == page_of(funded)
    html = response.content.decode()
    assert button(html, "unblock") and button(html, "unfreeze") and "formnovalidate" in button(html, "unfreeze")

    decide(client, funded.balance, "unfreeze", "", next_page=page_of(funded))
    funded.balance.refresh_from_db()
    assert funded.balance.status == "active"


def test_closing_a_wallet_that_holds_money_is_refused_with_the_service_s_words(client, support, funded):
    response = decide(client, funded, "close", "Client asked to close")

    funded.refresh_from_db()
    assert funded.status == Wallet.Status.ACTIVE
    assert any(message.startswith("Close wallet refused:") for message in messages_of(response))


# --- the transaction's page ------------------------------------------------------------------------


@pytest.fixture
def usd() -> Currency:
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("100"))
    return Currency.objects.get(code="USD")


def test_a_maker_asks_for_a_reversal_on_the_transaction_page_and_a_checker_approves_it(client, funded):
    original = Transaction.objects.get(wallet=funded, kind="deposit")
    maker, checker = StaffFactory(groups=["Finance"]), StaffFactory(groups=["Finance"])
    verified_staff_login(client, maker)

    html = client.get(page_of(original)).content.decode()
    assert "decision-danger" in button(html, "reverse") and "formnovalidate" not in button(html, "reverse")
    assert "A second operator with the reverse permission approves it on the approvals desk" in text_of(
        client.get(page_of(original))
    )

    response = decide(client, original, "reverse", "Duplicate deposit from the bank")

    original.refresh_from_db()
    assert original.status == Transaction.Status.POSTED  # one operator alone moves nothing
    request = ApprovalRequest.objects.get(action="reverse", status="pending")
    assert request.requested_by == maker and request.reason == "Duplicate deposit from the bank"
    page = text_of(response)
    assert f"Reversal requested by {maker.email} (request #{request.pk})" in page
    assert not button(response.content.decode(), "reverse")  # asked once, not twice

    # The maker is told why they cannot decide it; the checker sees the desk's context and decides.
    assert "You requested this; another operator must decide." in text_of(client.get(page_of(request)))
    verified_staff_login(client, checker)
    page = text_of(client.get(page_of(request)))
    assert "500.00 USD" in page and funded.owner.email in page and "Available now" in page
    response = decide(client, request, "approve", "Checked against the bank statement")

    original.refresh_from_db()
    assert original.status == Transaction.Status.REVERSED
    assert response.request["PATH_INFO"] == "/admin/desk/"


def test_the_desk_shows_the_amount_client_and_balance_of_a_reversal_request(client, funded):
    original = Transaction.objects.get(wallet=funded, kind="deposit")
    maker, checker = StaffFactory(groups=["Finance"]), StaffFactory(groups=["Finance"])
    verified_staff_login(client, maker)
    decide(client, original, "reverse", "Duplicate deposit")
    verified_staff_login(client, checker)

    requests = text_of(client.get("/admin/desk/")).split("Requests for a second operator")[1]

    assert "500.00 USD" in requests and funded.owner.email in requests and funded.address in requests


def test_support_cannot_forge_a_reversal(client, support, funded):
    original = Transaction.objects.get(wallet=funded, kind="deposit")
    assert not button(client.get(page_of(original)).content.decode(), "reverse")

    response = decide(client, original, "reverse", "Forged")

    assert response.status_code == 403
    assert not ApprovalRequest.objects.exists()


def test_a_pending_withdrawal_s_page_shows_balance_history_threshold_and_destination(client, usd, funded):
    withdrawal = services.transaction_withdraw(
        actor=funded.owner, wallet=funded, currency=usd, amount="150", pin=PIN, description="IBAN DE89 3704 0044"
    )
    verified_staff_login(client, StaffFactory(groups=["Finance"]))

    response = client.get(page_of(withdrawal))
    page = text_of(response)
    markup = response.content.decode()

    context = page.split("what to decide on")[1].split("Act on it")[0]
    assert "150.00 USD" in context
    assert "Available now 350.00 USD" in context  # 500 deposited, 150 held
    assert "Withdrawals of 100.00 USD or more in a day wait for Finance's approval" in context
    assert "IBAN DE89 3704 0044" in context
    assert "Deposit 500.00 USD (posted)" in context  # the history that funded it
    # Approve goes ahead at once; Reject looks different and asks for its reason first.
    assert "decision-approve" in button(markup, "approve") and "formnovalidate" in button(markup, "approve")
    assert "decision-reject" in button(markup, "reject") and "formnovalidate" not in button(markup, "reject")
