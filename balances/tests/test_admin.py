import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from balances.models import Balance, BalanceAsset, Currency
from users.tests.factories import StaffFactory, SuperuserFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.two_factor import verified_staff_login

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/balances/balance/"


def logged_in(user) -> Client:
    browser = Client()
    verified_staff_login(browser, user)
    return browser


def test_freeze_action_asks_for_a_reason_and_calls_the_service(staff_user, wallet):
    browser = logged_in(staff_user)
    selected = {"action": "freeze_balances", "_selected_action": [str(wallet.balance.pk)]}

    page = browser.post(CHANGELIST, selected)
    assert page.status_code == 200 and b"Reason" in page.content

    done = browser.post(CHANGELIST, {**selected, "apply": "1", "reason": "sanctions screening"}, follow=True)

    assert f"Froze the balance of {wallet.address}.".encode() in done.content
    balance = Balance.objects.get(pk=wallet.balance.pk)
    assert (balance.status, balance.freeze_reason) == ("frozen", "sanctions screening")
    event = AuditEvent.objects.get(action="balance.frozen")
    assert (event.actor, event.reason) == (staff_user, "sanctions screening")

    browser.post(
        CHANGELIST,
        {"action": "unfreeze_balances", "_selected_action": [str(balance.pk)], "apply": "1", "reason": "cleared"},
    )
    assert Balance.objects.get(pk=balance.pk).status == "active"


def test_operators_without_freeze_permission_do_not_see_the_actions(wallet):
    reader = StaffFactory()
    reader.user_permissions.add(Permission.objects.get(codename="view_balance"))

    page = logged_in(reader).get(CHANGELIST)

    assert page.status_code == 200 and b"freeze_balances" not in page.content


def test_money_is_never_editable_in_the_admin(wallet):
    browser = logged_in(SuperuserFactory())
    asset = wallet.balance.assets.get()

    assert browser.get("/admin/balances/balanceasset/").status_code == 200
    assert browser.get("/admin/balances/balanceasset/add/").status_code == 403
    assert browser.get(f"/admin/balances/balanceasset/{asset.pk}/delete/").status_code == 403
    page = browser.get(f"/admin/balances/balanceasset/{asset.pk}/change/")
    assert page.status_code == 200 and b'name="posted"' not in page.content

    browser.post(f"/admin/balances/balanceasset/{asset.pk}/change/", {"posted": "1000000", "held": "0"})
    asset.refresh_from_db()
    assert asset.posted == 0

    balance_page = browser.get(f"{CHANGELIST}{wallet.balance.pk}/change/")
    assert balance_page.status_code == 200 and b'name="assets-0-posted"' not in balance_page.content


def test_currency_decimals_are_locked_once_the_currency_is_used(wallet):
    browser = logged_in(SuperuserFactory())

    used = browser.get("/admin/balances/currency/USD/change/")
    unused = browser.get("/admin/balances/currency/TON/change/")

    assert b'name="decimals"' not in used.content and b'name="is_active"' in used.content
    assert b'name="decimals"' in unused.content
    response = browser.post(
        "/admin/balances/currency/USD/change/",
        {"name": "US dollar", "is_active": "on", "withdrawal_approval_threshold": "5000"},
    )
    assert response.status_code == 302
    usd = Currency.objects.get(code="USD")
    assert (usd.decimals, usd.withdrawal_approval_threshold, usd.name) == (2, 5000, "US dollar")
    assert BalanceAsset.objects.filter(currency=usd).exists()
