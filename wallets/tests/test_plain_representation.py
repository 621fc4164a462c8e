"""The wallet serializers render by hand (a plain ``to_representation``, issue 14): their output must
be exactly what DRF's own field machinery makes of the declared fields, which the OpenAPI schema
describes. Each level (wallet, balance, asset) is compared with DRF's rendering of that level, as
JSON text (keys in order); the wallet's own comparison includes the plain balance both sides."""

import json
from decimal import Decimal

import pytest
from rest_framework import serializers

from balances.services import balance_freeze
from transactions.models import ExchangeRate
from walletmanager.testing.ledger import deposit, make_wallet
from wallets import selectors
from wallets.serializers import (
    AssetSerializer,
    BalanceSerializer,
    StaffBalanceSerializer,
    StaffWalletSerializer,
    WalletSerializer,
)
from wallets.services import wallet_block

pytestmark = pytest.mark.django_db


def same_as_drf(serializer, instance) -> dict:
    """Assert the plain output is DRF's (``Serializer.to_representation``, its parent); return it."""
    drf = json.dumps(serializers.Serializer.to_representation(serializer, instance))
    assert json.dumps(serializer.to_representation(instance)) == drf
    return serializer.to_representation(instance)


def test_the_plain_wallet_is_what_drf_renders(client_user, staff, staff_user, credit_wallet, usd):
    from balances.models import Currency
    from transactions import services

    single = make_wallet(owner=client_user)
    deposit(single, "12.3")
    multi = make_wallet(owner=client_user, balance_kind="multi", currency=None)
    deposit(multi, "100")
    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.9"))
    ExchangeRate.objects.create(base_id="USD", quote_id="BTC", rate=Decimal("0.0000333"))
    for code in ("EUR", "BTC"):
        services.transaction_exchange(
            actor=client_user, wallet=multi, from_currency=usd, to_currency=Currency.objects.get(code=code), amount="10"
        )
    frozen = make_wallet(owner=client_user)
    balance_freeze(actor=staff_user, balance=frozen.balance, reason="fraud check")
    blocked = make_wallet(owner=client_user)
    wallet_block(actor=staff_user, wallet=blocked, reason="lost phone")

    bodies = []
    for made in (single, multi, frozen, blocked, credit_wallet):
        wallet = selectors.wallet_get_for(user=staff, wallet_id=made.pk)
        for serializer_class in (WalletSerializer, StaffWalletSerializer):
            bodies.append(same_as_drf(serializer_class(), wallet))
        for serializer_class in (BalanceSerializer, StaffBalanceSerializer):
            same_as_drf(serializer_class(), wallet.balance)
        for asset in wallet.balance.assets.all():
            same_as_drf(AssetSerializer(), asset)

    # The cases really are single- and multi-currency, frozen, blocked and on credit.
    assert [len(body["balance"]["assets"]) for body in bodies[:4]] == [1, 1, 3, 3]
    assert {body["balance"]["currency"] for body in bodies} == {"USD", None}
    assert bodies[5]["balance"]["status"] == "frozen" and bodies[5]["balance"]["freeze_reason"] == "fraud check"
    assert "freeze_reason" not in bodies[4]["balance"] and "block_reason" not in bodies[6]
    assert (bodies[7]["status"], bodies[7]["block_reason"]) == ("blocked", "lost phone")
    assert (bodies[8]["kind"], bodies[8]["credit_limit"]) == ("credit", "100.00")
    assert list(bodies[9]) == StaffWalletSerializer.Meta.fields


def test_a_wallet_without_a_balance_renders_as_drf_does(client_user):
    from wallets.tests.factories import WalletFactory

    wallet = WalletFactory(owner=client_user)
    wallet.refresh_from_db()
    body = same_as_drf(StaffWalletSerializer(), wallet)
    assert (body["balance"], body["credit_limit"]) == (None, "0")
