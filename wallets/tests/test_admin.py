import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from balances.tests.factories import WalletWithBalanceFactory
from users.tests.factories import StaffFactory, SuperuserFactory, UserFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import post_adjustment
from walletmanager.testing.two_factor import verified_staff_login
from wallets.models import Wallet

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/wallets/wallet/"


def logged_in(user) -> Client:
    browser = Client()
    verified_staff_login(browser, user)
    return browser


def test_block_action_asks_for_a_reason_then_calls_the_service(staff_user, wallet, open_wallet, client_user):
    other = open_wallet(client_user, name="Second")
    browser = logged_in(staff_user)
    selected = {"action": "block_wallets", "_selected_action": [str(wallet.pk), str(other.pk)]}

    page = browser.post(CHANGELIST, selected)
    assert page.status_code == 200
    assert b"Reason" in page.content and wallet.address.encode() in page.content

    missing = browser.post(CHANGELIST, {**selected, "apply": "1", "reason": "  "})
    assert missing.status_code == 200 and b"This field is required" in missing.content
    assert Wallet.objects.filter(status="blocked").count() == 0

    done = browser.post(CHANGELIST, {**selected, "apply": "1", "reason": "card fraud"}, follow=True)
    assert f"Blocked wallet {other} and wallet {wallet}.".encode() in done.content  # newest first, as listed
    assert set(Wallet.objects.filter(status="blocked").values_list("pk", flat=True)) == {wallet.pk, other.pk}
    events = AuditEvent.objects.filter(action="wallet.blocked")
    assert events.count() == 2 and {event.reason for event in events} == {"card fraud"}
    assert {event.actor for event in events} == {staff_user}


def test_one_refused_wallet_does_not_stop_the_others(staff_user, wallet, system_wallet):
    browser = logged_in(staff_user)
    post_adjustment(wallet, 1)
    empty = WalletWithBalanceFactory()

    response = browser.post(
        CHANGELIST,
        {
            "action": "close_wallets",
            "_selected_action": [str(wallet.pk), str(system_wallet.pk), str(empty.pk)],
            "apply": "1",
            "reason": "cleanup",
        },
        follow=True,
    )

    assert f"Closed wallet {empty}.".encode() in response.content
    assert b"still holds money" in response.content and b"System wallets can never be closed" in response.content
    assert Wallet.objects.get(pk=empty.pk).status == "closed"
    assert Wallet.objects.get(pk=wallet.pk).status == "active"


def test_operators_without_the_permission_do_not_see_the_actions(wallet):
    reader = StaffFactory()
    reader.user_permissions.add(Permission.objects.get(codename="view_wallet"))
    browser = logged_in(reader)

    page = browser.get(CHANGELIST)
    assert page.status_code == 200
    assert b"block_wallets" not in page.content and b"close_wallets" not in page.content

    response = browser.post(
        CHANGELIST, {"action": "block_wallets", "_selected_action": [str(wallet.pk)], "apply": "1", "reason": "x"}
    )
    # An operator offered no action gets the list back, the post ignored: no message, no checkbox.
    assert response.status_code == 200
    assert b"<title>Wallets | WalletManager back office</title>" in response.content
    assert b"messagelist" not in response.content and b"action-select" not in response.content
    assert Wallet.objects.get(pk=wallet.pk).status == "active"
    assert not AuditEvent.objects.filter(action="wallet.blocked").exists()

    support = logged_in(StaffFactory(groups=["Support"]))
    assert b"block_wallets" in support.get(CHANGELIST).content


def test_changelist_search_and_filters(staff_user, wallet):
    browser = logged_in(staff_user)

    for query in (wallet.owner.email, wallet.address, str(wallet.pk), "not-a-uuid", "%' OR 1=1 --"):
        assert browser.get(CHANGELIST, {"q": query}).status_code == 200
    assert wallet.address.encode() in browser.get(CHANGELIST, {"q": str(wallet.pk)}).content
    for params in (
        {"balance__kind__exact": "regular"},
        {"balance__currency__code__exact": "USD"},
        {"kind__exact": "debit", "status__exact": "active"},
    ):
        assert browser.get(CHANGELIST, params).status_code == 200


def test_change_page_shows_assets_read_only_and_rename_goes_through_the_service(staff_user, wallet):
    superuser = SuperuserFactory()
    browser = logged_in(superuser)
    url = f"{CHANGELIST}{wallet.pk}/change/"

    page = browser.get(url)
    assert page.status_code == 200
    assert b"Posted" in page.content and b"0.00" in page.content
    assert b'name="status"' not in page.content and b'name="credit_limit"' not in page.content

    response = browser.post(url, {"name": "Renamed by ops"})
    assert response.status_code == 302
    wallet.refresh_from_db()
    assert wallet.name == "Renamed by ops"
    assert AuditEvent.objects.get(action="wallet.updated").actor == superuser


def test_changelist_runs_the_same_queries_for_2_and_20_wallets(django_assert_max_num_queries):
    browser = logged_in(SuperuserFactory())
    counts = []
    for target in (2, 20):
        while Wallet.objects.filter(system_role__isnull=True).count() < target:
            WalletWithBalanceFactory(owner=UserFactory())
        with CaptureQueriesContext(connection) as queries:
            response = browser.get(CHANGELIST)
        assert response.content.count(b'class="action-select"') == target + 3  # plus the system wallets
        counts.append(len(queries))

    assert counts[0] == counts[1]
    with django_assert_max_num_queries(counts[1]):
        browser.get(CHANGELIST, {"balance__currency__code__exact": "USD"})


@pytest.mark.django_db
def test_the_wallets_list_says_in_one_column_when_a_balance_is_frozen():
    from balances.services import balance_freeze
    from walletmanager.testing.two_factor import verified_staff_login

    frozen = WalletWithBalanceFactory(name="Frozen one")
    WalletWithBalanceFactory(name="Fine one")
    superuser = SuperuserFactory()
    balance_freeze(actor=superuser, balance=frozen.balance, reason="Court order")
    browser = Client()
    verified_staff_login(browser, superuser)

    rows = browser.get("/admin/wallets/wallet/").content.decode().split("<tr")[1:]

    frozen_row = next(row for row in rows if '<td class="field-name">Frozen one</td>' in row)
    fine_row = next(row for row in rows if '<td class="field-name">Fine one</td>' in row)
    assert '<td class="field-state">Active, balance frozen</td>' in frozen_row
    assert '<td class="field-state">Active</td>' in fine_row
