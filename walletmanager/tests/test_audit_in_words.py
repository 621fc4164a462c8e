"""Issues 13 and 24, the audit trail in words: each event is a sentence ("root@… blocked the user
ada@example.com") whose object reads as its name, linked to it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from balances.tests.factories import WalletWithBalanceFactory
from users.services import user_block
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.testing.ledger import post_adjustment
from walletmanager.testing.two_factor import verified_staff_login
from wallets.services import wallet_block

pytestmark = pytest.mark.django_db


def test_the_audit_trail_names_each_target_and_links_it(django_assert_max_num_queries):
    operator = StaffFactory(is_superuser=True)
    client_user = UserFactory(email="ada@example.com")
    user_block(actor=operator, user=client_user, reason="chargebacks")
    wallet = WalletWithBalanceFactory(name="Main")
    post_adjustment(wallet, "10500")
    wallet_block(actor=operator, wallet=wallet, reason="court order")
    admin = Client()
    verified_staff_login(admin, operator)

    page = admin.get(reverse("admin:walletmanager_auditevent_changelist")).content.decode()

    user_url = reverse("admin:users_user_change", args=[client_user.pk])
    assert f'{operator.email} blocked <a href="{user_url}">the user ada@example.com</a>' in page
    assert f"users.user {client_user.pk}" not in page
    assert (
        f'{operator.email} blocked <a href="{reverse("admin:wallets_wallet_change", args=[wallet.pk])}">'
        f"the wallet Main ({wallet.address})</a>" in page
    )
    assert "10,500.00 USD" in page  # the adjustment's event names its transaction in money
    user_page = admin.get(user_url).content.decode()  # the user's own panel names them too
    assert "User ada@example.com" in user_page

    for _ in range(5):
        user_block(actor=operator, user=UserFactory(), reason="more")
        wallet_block(actor=operator, wallet=WalletWithBalanceFactory(), reason="more")
    with django_assert_max_num_queries(14):
        admin.get(reverse("admin:walletmanager_auditevent_changelist"))
