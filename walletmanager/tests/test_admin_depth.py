"""Admin depth (SPEC §8): users, wallets, transactions and audit events link to each other both ways,
the change pages show recent activity, and blocked / frozen / closed objects carry a banner."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from balances.services import balance_freeze
from transactions import services as transaction_services
from transactions.models import Transaction
from users.services import user_block
from users.tests.factories import SuperuserFactory, UserFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, deposit, make_wallet
from walletmanager.testing.two_factor import verified_staff_login
from wallets.services import wallet_block


@pytest.fixture
def operator(db):
    return SuperuserFactory()


@pytest.fixture
def admin(operator) -> Client:
    client = Client()
    verified_staff_login(client, operator)
    return client


def transfer(source, recipient, amount) -> Transaction:
    return transaction_services.transaction_transfer(
        actor=source.owner,
        wallet=source,
        to_address=recipient.address,
        currency=source.balance.currency,
        amount=Decimal(amount),
        pin=PIN,
    )


def url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


@pytest.mark.django_db
def test_user_page_shows_wallets_recent_transactions_and_audit_events_linked(admin, operator):
    owner = UserFactory(email="ada@example.com")
    wallet, other = make_wallet(owner=owner), make_wallet()
    incoming = deposit(other, "50")
    funding = deposit(wallet, "100")
    outgoing = transfer(wallet, other, "10")
    unrelated = deposit(other, "7")
    wallet_block(actor=operator, wallet=wallet, reason="chargeback investigation")

    page = admin.get(url("users_user_change", owner.pk)).content.decode()

    assert url("wallets_wallet_change", wallet.pk) in page
    # The wallets panel's last column is the balance's status (active or frozen), and says so.
    assert "<th>Balance status</th>" in page and "<th>Balance</th>" not in page
    assert url("transactions_transaction_change", funding.pk) in page
    assert url("transactions_transaction_change", outgoing.pk) in page
    assert url("transactions_transaction_change", incoming.pk) not in page
    assert url("transactions_transaction_change", unrelated.pk) not in page
    assert f"{url('transactions_transaction_changelist')}?q=ada%40example.com" in page
    # The wallet's block event shows on its owner's page, linked to the event and the filtered trail.
    event = AuditEvent.objects.get(action="wallet.blocked")
    assert url("walletmanager_auditevent_change", event.pk) in page
    assert "chargeback investigation" in page
    assert f"q=users.user%3A{owner.pk}+wallets.wallet%3A{wallet.pk}" in page


@pytest.mark.django_db
def test_blocked_user_page_has_a_banner_with_the_reason(admin, operator):
    user = UserFactory()
    user_block(actor=operator, user=user, reason="identity theft reported")

    page = admin.get(url("users_user_change", user.pk)).content.decode()

    assert 'class="status-banner' in page
    assert "This user is blocked" in page and "identity theft reported" in page
    assert 'class="status-banner' not in admin.get(url("users_user_change", operator.pk)).content.decode()


@pytest.mark.django_db
def test_wallet_page_shows_both_directions_owner_balance_and_banners(admin, operator):
    wallet, other = make_wallet(), make_wallet()
    received = transfer(deposit(other, "80") and other, wallet, "20")
    deposit(wallet, "30")
    sent = transfer(wallet, other, "5")
    balance_freeze(actor=operator, balance=wallet.balance, reason="court order 42")
    wallet_block(actor=operator, wallet=wallet, reason="suspicious activity")

    page = admin.get(url("wallets_wallet_change", wallet.pk)).content.decode()

    assert url("transactions_transaction_change", received.pk) in page
    assert url("transactions_transaction_change", sent.pk) in page
    assert url("users_user_change", wallet.owner_id) in page
    assert url("balances_balance_change", wallet.balance.pk) in page
    assert "This wallet is blocked" in page and "suspicious activity" in page
    assert "Its balance is frozen" in page and "court order 42" in page
    assert f"{url('transactions_transaction_changelist')}?q={wallet.address}" in page
    assert url("walletmanager_auditevent_change", AuditEvent.objects.get(action="balance.frozen").pk) in page


@pytest.mark.django_db
def test_frozen_balance_page_has_a_banner_and_links_its_wallet(admin, operator):
    wallet = make_wallet()
    balance_freeze(actor=operator, balance=wallet.balance, reason="sanctions screening")

    page = admin.get(url("balances_balance_change", wallet.balance.pk)).content.decode()

    assert "This balance is frozen" in page and "sanctions screening" in page
    assert url("wallets_wallet_change", wallet.pk) in page


@pytest.mark.django_db
def test_transaction_page_links_wallets_owners_and_its_audit_events(admin):
    wallet, other = make_wallet(), make_wallet()
    deposit(wallet, "100")
    moved = transfer(wallet, other, "25")

    page = admin.get(url("transactions_transaction_change", moved.pk)).content.decode()

    assert url("wallets_wallet_change", wallet.pk) in page
    assert url("wallets_wallet_change", other.pk) in page
    assert url("users_user_change", wallet.owner_id) in page
    assert url("users_user_change", other.owner_id) in page
    event = AuditEvent.objects.get(target_type="transactions.transaction", target_id=str(moved.pk))
    assert url("walletmanager_auditevent_change", event.pk) in page
    assert f"target_type=transactions.transaction&amp;target_id={moved.pk}" in page


@pytest.mark.django_db
def test_audit_trail_links_each_event_to_its_object_and_filters_by_object(admin, operator):
    user, other = UserFactory(), UserFactory()
    user_block(actor=operator, user=user, reason="fraud")
    user_block(actor=operator, user=other, reason="spam")
    event = AuditEvent.objects.get(action="user.blocked", target_id=str(user.pk))

    changelist = admin.get(url("walletmanager_auditevent_changelist")).content.decode()
    detail = admin.get(url("walletmanager_auditevent_change", event.pk)).content.decode()
    filtered = admin.get(
        url("walletmanager_auditevent_changelist"), {"target_type": "users.user", "target_id": str(user.pk)}
    )
    searched = admin.get(url("walletmanager_auditevent_changelist"), {"q": f"users.user:{user.pk}"})

    assert url("users_user_change", user.pk) in changelist
    assert url("users_user_change", user.pk) in detail
    assert [e.pk for e in filtered.context["cl"].result_list if e.action == "user.blocked"] == [event.pk]
    assert {e.target_id for e in searched.context["cl"].result_list} == {str(user.pk)}


@pytest.mark.django_db
def test_change_pages_run_the_same_queries_for_few_and_many_transactions(admin):
    wallet, other = make_wallet(), make_wallet()
    deposit(wallet, "1000")

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin.get(path).status_code == 200
        return len(captured)

    pages = [
        url("wallets_wallet_change", wallet.pk),
        url("users_user_change", wallet.owner_id),
        url("transactions_transaction_changelist"),
        url("wallets_wallet_changelist"),
        url("walletmanager_auditevent_changelist"),
    ]
    few = [queries(path) for path in pages]
    for _ in range(30):
        transfer(wallet, other, "1")
        deposit(other, "1")
    many = [queries(path) for path in pages]

    assert many == few


@pytest.mark.django_db
def test_every_list_is_titled_by_what_it_lists(admin_client):
    for path, title in [
        ("/admin/users/user/", "Users"),
        ("/admin/wallets/wallet/", "Wallets"),
        ("/admin/transactions/transaction/", "Transactions"),
        ("/admin/walletmanager/auditevent/", "Audit events"),
    ]:
        page = admin_client.get(path).content.decode()
        assert f"<h1>{title}</h1>" in page and f"<title>{title} | WalletManager back office</title>" in page, path
        assert "Select " not in page.split("<h1>")[1].split("</h1>")[0]
