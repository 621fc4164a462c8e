"""Issue 13, what a new operator still saw: the system account listed as an active client, "Django REST
framework" on the API pages, "Transactions › Transactions", targets named in code words, bare numbers
where money is meant, the maker offered buttons the service refuses, and "Blocked 1 user(s)."."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from balances.models import Currency
from balances.tests.factories import WalletWithBalanceFactory
from transactions import deposits
from transactions.models import FeeRule
from transactions.services import transaction_withdraw
from users.models import User
from users.services import user_block
from users.tests.factories import StaffFactory, SuperuserFactory, UserFactory
from walletmanager.approvals.services import approval_request
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, deposit, make_wallet, post_adjustment
from walletmanager.testing.two_factor import verified_staff_login
from wallets.services import wallet_block

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    browser = Client()
    verified_staff_login(browser, user)
    return browser


def words(markup: str) -> str:
    """A page's text as an operator reads it: tags and scripts removed, entities decoded, spaces collapsed."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def row_with(page: str, needle: str) -> str:
    """The words of the changelist row that contains ``needle``."""
    for row in re.findall(r"<tr\b.*?</tr>", page, flags=re.S):
        if needle in row:
            return words(row)
    raise AssertionError(f"no row with {needle!r}")


def breadcrumbs(page: str) -> list[str]:
    trail = re.search(r'<div class="breadcrumbs">(.*?)</div>', page, flags=re.S).group(1)
    return [part.strip() for part in words(trail).split("›")]


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def ask_for_credit(maker, wallet, currency):
    """A maker's request to credit 5 to ``wallet``, waiting for a second operator."""
    return approval_request(
        actor=maker, action="adjust", reason="refund", wallet=wallet, currency=currency, amount="5", direction="credit"
    )


def run_action(browser: Client, changelist: str, action: str, objects, reason: str = "a reason"):
    selected = {"action": action, "_selected_action": [str(obj.pk) for obj in objects]}
    return browser.post(changelist, {**selected, "apply": "1", "reason": reason}, follow=True)


# --- 1. the system account ------------------------------------------------------------------------


def test_the_system_account_reads_as_system_and_is_not_counted_as_a_client():
    system = User.objects.get(is_system=True)
    ada = UserFactory(email="ada@example.com")
    browser = logged_in(SuperuserFactory())

    page = browser.get("/admin/users/user/").content.decode()
    clients = browser.get("/admin/users/user/?role=client").content.decode()
    systems = browser.get("/admin/users/user/?role=system").content.decode()

    row = row_with(page, system.email)
    assert "System" in row and "Client" not in row and "Active" not in row
    assert ada.email in clients and system.email not in clients
    assert system.email in systems and ada.email not in systems
    own_page = browser.get(reverse("admin:users_user_change", args=[system.pk])).content.decode()
    assert "The system account: it owns the system wallets" in words(own_page)
    assert 'name="_save"' not in own_page  # nothing on it to change


def test_the_system_account_cannot_be_blocked_from_the_admin():
    system = User.objects.get(is_system=True)
    browser = logged_in(SuperuserFactory())

    response = run_action(browser, "/admin/users/user/", "block_users", [system])

    assert f"{system.email}: refused — The system user cannot be blocked, unblocked or closed." in messages_of(response)
    system.refresh_from_db()
    assert system.status == "active"
    assert not AuditEvent.objects.filter(action="user.blocked").exists()


# --- 2. the browsable API's brand -----------------------------------------------------------------


def test_the_browsable_api_is_branded_walletmanager_api(client):
    page = client.get("/api/", HTTP_ACCEPT="text/html").content.decode()

    assert re.search(r"<title>\s*API root – WalletManager API\s*</title>", page)
    assert "navbar-brand" in page and "WalletManager API" in words(re.search(r"navbar-brand.*?</a>", page, re.S)[0])
    assert "Django REST framework" not in page
    login = client.get(reverse("rest_framework:login")).content.decode()
    assert re.search(r"<title>\s*Log in – WalletManager API\s*</title>", login) and "Django REST framework" not in login


# --- 3. breadcrumbs -------------------------------------------------------------------------------


def test_no_breadcrumb_repeats_the_model_as_its_section():
    browser = logged_in(SuperuserFactory())
    repeated = {}
    for model in admin.site._registry:
        opts = model._meta
        page = browser.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert page.status_code == 200, opts.label
        trail = breadcrumbs(page.content.decode())
        if trail[1].lower() == trail[2].lower() or trail[1].lower().startswith("otp_"):
            repeated[opts.label] = trail
    assert not repeated
    transaction_trail = breadcrumbs(browser.get("/admin/transactions/transaction/").content.decode())
    assert transaction_trail == ["Home", "Ledger", "Transactions"]


# --- 4. names, not code words ---------------------------------------------------------------------


def test_an_audit_event_page_and_an_approval_request_name_their_object_with_a_link(usd_threshold):
    operator = SuperuserFactory()
    wallet = WalletWithBalanceFactory(name="Savings")
    wallet_block(actor=operator, wallet=wallet, reason="court order")
    event = AuditEvent.objects.get(action="wallet.blocked")
    maker = StaffFactory(groups=["Finance"])
    funded = make_wallet()
    deposit(funded, "2000")
    withdrawal = transaction_withdraw(actor=funded.owner, wallet=funded, currency=usd_threshold, amount="1050", pin=PIN)
    adjustment = ask_for_credit(maker, wallet, usd_threshold)
    browser = logged_in(operator)

    event_page = browser.get(reverse("admin:walletmanager_auditevent_change", args=[event.pk])).content.decode()
    request_page = browser.get(reverse("admin:approvals_approvalrequest_change", args=[adjustment.pk])).content.decode()
    wallet_url = reverse("admin:wallets_wallet_change", args=[wallet.pk])

    assert f"wallets.wallet:{wallet.pk}" not in words(event_page)  # the title and breadcrumb no longer say it
    assert f"{operator.email} blocked the wallet Savings ({wallet.address})" in breadcrumbs(event_page)[-1]
    assert f'<a href="{wallet_url}">Wallet Savings ({wallet.address})</a>' in request_page
    assert f"wallets.wallet {wallet.pk}" not in request_page

    reversal = approval_request(actor=maker, action="reverse", reason="duplicate", transaction=funded_deposit(funded))
    reversal_page = browser.get(reverse("admin:approvals_approvalrequest_change", args=[reversal.pk])).content.decode()
    deposit_url = reverse("admin:transactions_transaction_change", args=[reversal.target_id])
    assert f'<a href="{deposit_url}">Transaction deposit 2,000.00 USD (posted)</a>' in reversal_page
    assert withdrawal.status == "pending"


def funded_deposit(wallet):
    from transactions.models import Transaction

    return Transaction.objects.get(wallet=wallet, kind="deposit", status="posted")


@pytest.fixture
def usd_threshold() -> Currency:
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("1000"))
    return Currency.objects.get(code="USD")


# --- 5. money everywhere --------------------------------------------------------------------------


def test_fee_rules_for_any_currency_and_multi_currency_credit_limits_read_as_money():
    FeeRule.objects.create(kind="transfer", currency=None, percent_bps=50, flat=Decimal(0), min_fee=Decimal("0.5"))
    credit = make_wallet(kind="credit", balance_kind="multi", currency=None, credit_limit=Decimal("250"))
    post_adjustment(credit, "10", "USD")
    post_adjustment(credit, "3", "EUR")
    browser = logged_in(SuperuserFactory())

    rules = browser.get("/admin/transactions/feerule/").content.decode()
    wallet_page = words(browser.get(reverse("admin:wallets_wallet_change", args=[credit.pk])).content.decode())

    row = row_with(rules, "Transfer")
    assert "Any currency" in row
    assert "0 (any currency)" in row and "0.5 (any currency)" in row
    assert re.search(r"Credit limit:? 250\.00 EUR · 250\.00 USD", wallet_page), wallet_page


def test_a_credit_limit_request_reads_as_money_in_the_wallets_currency():
    regular = make_wallet(kind="credit", credit_limit=Decimal("100"))
    multi = make_wallet(kind="credit", balance_kind="multi", currency=None, credit_limit=Decimal("1000"))
    maker = SuperuserFactory()

    one = approval_request(actor=maker, action="set_credit_limit", reason="r", wallet=regular, credit_limit="250")
    each = approval_request(actor=maker, action="set_credit_limit", reason="r", wallet=multi, credit_limit="2500")

    assert one.summary == f"Credit limit of {regular.address}: 100.00 USD → 250.00 USD"
    assert each.summary == f"Credit limit of {multi.address}: 1,000 in each currency → 2,500 in each currency"


def test_ether_reads_without_eighteen_zeros_in_the_admin_and_exactly_in_the_api(api_client):
    wallet = make_wallet(balance_kind="multi", currency=None)
    post_adjustment(wallet, "1.5", "ETH")
    post_adjustment(wallet, "0.000000000000000001", "ETH")
    browser = logged_in(SuperuserFactory())

    listed = row_with(browser.get("/admin/wallets/wallet/").content.decode(), wallet.address)
    assets = browser.get("/admin/balances/balanceasset/").content.decode()

    assert "1.500000000000000001 ETH" in listed  # every digit that is there, none that is not
    post_adjustment(wallet, "-0.000000000000000001", "ETH")
    assets = row_with(browser.get("/admin/balances/balanceasset/").content.decode(), wallet.address)
    assert "1.50 ETH" in assets and "1.500000000000000000" not in assets
    api_client.force_authenticate(wallet.owner)
    listed_api = api_client.get(f"/api/wallets/{wallet.pk}/").json()
    assert {"currency": "ETH", "posted": "1.500000000000000000"}.items() <= next(
        asset for asset in listed_api["balance"]["assets"] if asset["currency"] == "ETH"
    ).items()


# --- 6. reconcile's report ------------------------------------------------------------------------


def test_reconcile_prints_totals_as_money_and_keeps_its_json_exact():
    deposit(make_wallet(), "10500")
    deposit(make_wallet(currency="BTC"), "0.5", "BTC")

    text, machine = StringIO(), StringIO()
    call_command("reconcile", stdout=text)
    call_command("reconcile", "--json", stdout=machine)

    assert "10,500.00 USD" in text.getvalue() and "-10,500.00 USD" in text.getvalue()
    assert "0.50 BTC" in text.getvalue()
    assert "10500.000000000000000000" not in text.getvalue()
    totals = {row["currency"]: row for row in json.loads(machine.getvalue())["totals"]}
    assert totals["USD"]["clients"] == "10500.000000000000000000"


def test_a_stored_reconciliation_shows_its_drift_amounts_without_the_storage_scale():
    from django.utils import timezone

    from transactions.models import ReconciliationRun

    check = {"name": "posted_matches_entries", "description": "…", "ok": False, "count": 1, "columns": []}
    row = ["7KQ2", "USD", "10501.000000000000000000", "10500.000000000000000000", "1.000000000000000000"]
    now = timezone.now()
    run = ReconciliationRun.objects.create(
        started_at=now, finished_at=now, is_clean=False, report={"checks": [{**check, "rows": [row]}]}
    )

    page = words(
        logged_in(SuperuserFactory()).get(f"/admin/transactions/reconciliationrun/{run.pk}/change/").content.decode()
    )

    assert "7KQ2 | USD | 10,501 | 10,500 | 1" in page


# --- 7. the maker sees no button the service would refuse ------------------------------------------


def test_the_maker_sees_why_they_cannot_decide_and_a_second_operator_sees_the_buttons(usd_threshold):
    maker, checker = StaffFactory(groups=["Finance"]), StaffFactory(groups=["Finance"])
    wallet = make_wallet()
    request = ask_for_credit(maker, wallet, usd_threshold)
    recorded = deposits.transaction_deposit(actor=maker, wallet=wallet, currency=usd_threshold, amount=Decimal("40"))
    request_url = reverse("admin:approvals_approvalrequest_change", args=[request.pk])
    deposit_url = reverse("admin:transactions_transaction_change", args=[recorded.pk])

    as_maker = logged_in(maker)
    for url, note in (
        (request_url, "You requested this; another operator must decide."),
        (deposit_url, "You recorded this deposit; another operator must confirm or reject it."),
    ):
        page = as_maker.get(url).content.decode()
        assert 'id="decide-approve"' not in page and 'id="decide-confirm"' not in page
        assert 'id="decide-reject"' not in page
        assert note in words(page)
    desk = words(as_maker.get("/admin/desk/").content.decode())
    assert desk.count("yours: another operator decides") == 2

    as_checker = logged_in(checker)
    assert 'id="decide-approve"' in as_checker.get(request_url).content.decode()
    assert 'id="decide-confirm"' in as_checker.get(deposit_url).content.decode()
    assert "yours: another operator decides" not in words(as_checker.get("/admin/desk/").content.decode())

    own = make_wallet(owner=checker)
    deposit(own, "2000")
    own_withdrawal = transaction_withdraw(actor=checker, wallet=own, currency=usd_threshold, amount="1500", pin=PIN)
    own_page = as_checker.get(reverse("admin:transactions_transaction_change", args=[own_withdrawal.pk]))
    assert "It is your own wallet; another operator must decide." in words(own_page.content.decode())
    assert 'id="decide-approve"' not in own_page.content.decode()

    # the service still refuses a forged post by the maker
    forged = as_maker.post(
        reverse("admin:approvals_approvalrequest_decide", args=[request.pk]), {"decision": "approve"}, follow=True
    )
    request.refresh_from_db()
    assert request.status == "pending"
    assert any("same_operator" in message for message in messages_of(forged))


# --- 8. what each action did, per object ----------------------------------------------------------


def test_user_actions_say_what_happened_to_each_user():
    support = StaffFactory(groups=["Support"])
    alice, bob, dan = UserFactory(email="alice@example.com"), UserFactory(email="bob@example.com"), UserFactory()
    user_block(actor=support, user=bob, reason="earlier")
    colleague = StaffFactory(email="carol@example.com")

    shown = messages_of(
        run_action(logged_in(support), "/admin/users/user/", "block_users", [alice, bob, colleague, dan])
    )

    assert f"Blocked alice@example.com and {dan.email}." in shown
    assert "bob@example.com was already blocked." in shown
    assert "carol@example.com: refused — Only a superuser can block or close staff." in shown
    assert not any("(s)" in message for message in shown)


def test_wallet_balance_transaction_and_request_actions_name_each_object(usd_threshold):
    support, finance = StaffFactory(groups=["Support"]), StaffFactory(groups=["Finance"])
    wallet = make_wallet()
    deposit(wallet, "2000")
    wallet.name = "Savings"
    wallet.save(update_fields=["name"])
    withdrawal = transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd_threshold, amount="1050", pin=PIN)

    as_support = logged_in(support)
    frozen = messages_of(run_action(as_support, "/admin/balances/balance/", "freeze_balances", [wallet.balance]))
    again = messages_of(run_action(as_support, "/admin/balances/balance/", "freeze_balances", [wallet.balance]))
    blocked = messages_of(run_action(as_support, "/admin/wallets/wallet/", "block_wallets", [wallet]))
    approved = messages_of(
        run_action(logged_in(finance), "/admin/transactions/transaction/", "approve_withdrawals", [withdrawal])
    )

    assert frozen == [f"Froze the balance of {wallet.address}."]
    assert again == [f"The balance of {wallet.address} was already frozen."]
    assert blocked == [f"Blocked wallet Savings ({wallet.address})."]
    assert approved == [f"Withdrawal {str(withdrawal.pk)[:8]} of 1,050.00 USD: refused — The wallet is blocked."]

    request = ask_for_credit(finance, make_wallet(), usd_threshold)
    decided = messages_of(
        run_action(
            logged_in(StaffFactory(groups=["Finance"])),
            "/admin/approvals/approvalrequest/",
            "approve_requests",
            [request],
        )
    )
    assert decided == [f"Approved request #{request.pk} ({request.summary})."]
