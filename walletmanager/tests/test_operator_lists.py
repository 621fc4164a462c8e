"""Issue 13: changelists an operator can read at 1 440 px — money formatted with its currency, short
ids, a wallet's balance per currency, balance assets by owner and address, no duplicated filters, no
permission picker on a client's page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from balances.models import BalanceAsset, Currency
from balances.tests.factories import WalletWithBalanceFactory
from transactions.services import transaction_withdraw
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.testing.ledger import place_hold, post_adjustment
from walletmanager.testing.two_factor import verified_staff_login
from wallets.tests.factories import DEFAULT_PIN

pytestmark = pytest.mark.django_db


def operator(*groups: str, superuser: bool = False) -> Client:
    client = Client()
    verified_staff_login(client, StaffFactory(groups=list(groups), is_superuser=superuser))
    return client


def text_of(response) -> str:
    """The page as a reader sees it: tags dropped, white space folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_transactions_list_reads_as_money_with_short_ids_and_the_full_id_on_hover():
    wallet = WalletWithBalanceFactory()
    deposit = post_adjustment(wallet, "10500")
    page = operator(superuser=True).get(reverse("admin:transactions_transaction_changelist"))

    html, text = page.content.decode(), text_of(page)
    assert "10,500.00 USD" in text
    assert "10500.000000000000000000" not in html
    assert f'title="{deposit.pk}"' in html
    assert str(deposit.pk)[:8] in text and str(deposit.pk) not in text  # the full id only on hover
    assert "walletmanager/admin-lists.css" in html  # right-aligns the money_* columns


def test_finance_reads_the_amount_of_each_pending_withdrawal_on_the_list_and_the_page():
    usd = Currency.objects.get(code="USD")
    usd.withdrawal_approval_threshold = Decimal(100)
    usd.save()
    wallet = WalletWithBalanceFactory()
    post_adjustment(wallet, "20000")
    pending = transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="10500", pin=DEFAULT_PIN)
    assert pending.status == "pending"
    finance = operator("Finance")

    listed = text_of(finance.get(reverse("admin:transactions_transaction_changelist"), {"status__exact": "pending"}))
    detail = text_of(finance.get(reverse("admin:transactions_transaction_change", args=[pending.pk])))

    assert "10,500.00 USD" in listed
    assert "10,500.00 USD" in detail and "held" in detail
    assert "10500.000000000000000000" not in listed + detail


def test_wallets_list_shows_what_each_wallet_may_spend_per_currency_and_each_filter_once(open_wallet):
    owner = UserFactory()
    multi = open_wallet(owner, balance_kind="multi")
    post_adjustment(multi, "1234.5", "USD")
    post_adjustment(multi, "0.5", "BTC")
    place_hold(multi, "0.25", "BTC")
    empty = open_wallet(owner, currency="EUR", name="Savings")

    page = operator(superuser=True).get(reverse("admin:wallets_wallet_changelist"))
    text = text_of(page)

    assert "1,234.50 USD" in text and "0.25 BTC" in text  # exact, without the storage scale's zeros
    assert "0.00 EUR" in text and empty.address in text
    assert "Multi-currency Multi-currency" not in text
    for title in ("By kind", "By status"):
        assert text.count(title) == 1, title
    assert "By balance kind" in text and "By balance status" in text and "By balance currency" in text


def test_wallets_list_queries_do_not_grow_with_wallets_and_assets(open_wallet, django_assert_max_num_queries):
    client = operator(superuser=True)
    url = reverse("admin:wallets_wallet_changelist")
    for _ in range(2):
        wallet = open_wallet(UserFactory(), balance_kind="multi")
        post_adjustment(wallet, "1", "USD")
        post_adjustment(wallet, "1", "EUR")
    client.get(url)  # warms the session and content-type caches
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    for _ in range(5):
        wallet = open_wallet(UserFactory(), balance_kind="multi")
        post_adjustment(wallet, "1", "USD")
        post_adjustment(wallet, "1", "TON")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_balance_assets_are_listed_by_owner_and_address_with_formatted_positions():
    wallet = WalletWithBalanceFactory(owner__email="ada@example.com")
    post_adjustment(wallet, "10500")
    place_hold(wallet, "500")
    asset = BalanceAsset.objects.get(balance__wallet=wallet)
    client = operator(superuser=True)

    listed = text_of(client.get(reverse("admin:balances_balanceasset_changelist")))
    detail = text_of(client.get(reverse("admin:balances_balanceasset_change", args=[asset.pk])))
    balances = text_of(client.get(reverse("admin:balances_balance_changelist")))

    # The list shortens the address to its first ten characters (the full one on hover and on the page).
    assert "ada@example.com" in listed and f"{wallet.address[:10]}…" in listed
    assert "ada@example.com" in detail and wallet.address in detail
    for text in (listed, detail):
        assert "10,500.00 USD" in text and "500.00 USD" in text and "10,000.00 USD" in text
        assert f"Balance of {wallet.pk}" not in text
    assert "ada@example.com" in balances and f"{wallet.address[:10]}…" in balances  # shortened there too


def test_a_clients_page_has_no_permission_picker_a_staff_members_has():
    client_user, colleague = UserFactory(), StaffFactory()
    superuser = operator(superuser=True)

    client_page = superuser.get(reverse("admin:users_user_change", args=[client_user.pk])).content.decode()
    staff_page = superuser.get(reverse("admin:users_user_change", args=[colleague.pk])).content.decode()

    assert 'name="user_permissions"' not in client_page and 'name="groups"' not in client_page
    assert "Groups and permissions are for staff" in client_page
    assert 'name="user_permissions"' in staff_page and 'name="groups"' in staff_page


def test_a_superuser_still_makes_a_client_staff_from_the_clients_page():
    client_user = UserFactory(first_name="Ada", last_name="Lovelace")
    superuser = operator(superuser=True)

    response = superuser.post(
        reverse("admin:users_user_change", args=[client_user.pk]),
        {"email": client_user.email, "first_name": "Ada", "last_name": "Lovelace", "role": "admin"},
    )

    assert response.status_code == 302
    client_user.refresh_from_db()
    assert client_user.is_staff and not client_user.is_superuser


def test_rates_fee_rules_and_currencies_read_without_the_storage_scale():
    from transactions.models import ExchangeRate

    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.925"), source="test")
    usd = Currency.objects.get(code="USD")
    usd.withdrawal_approval_threshold = Decimal(10000)
    usd.save()
    client = operator(superuser=True)

    rates = text_of(client.get(reverse("admin:transactions_exchangerate_changelist")))
    currencies = text_of(client.get(reverse("admin:balances_currency_changelist")))

    assert "0.925" in rates and "0.925000000000000000" not in rates
    assert "10,000.00 USD" in currencies
