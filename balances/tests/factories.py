from decimal import Decimal

import factory
from django.db import connection

from balances.models import Balance, BalanceAsset, Currency
from balances.services import balance_open
from wallets.tests.factories import WalletFactory


class BalanceFactory(factory.django.DjangoModelFactory):
    """A wallet's balance, opened as production opens it (``balance_open``, i.e. ``ledger.balance_open``):
    the runtime role inserts no balance itself (SPEC §16)."""

    class Meta:
        model = Balance
        skip_postgeneration_save = True

    wallet = factory.SubFactory(WalletFactory)
    kind = Balance.Kind.REGULAR
    currency = factory.LazyFunction(lambda: Currency.objects.get(code="USD"))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        currency = kwargs.get("currency")
        kind = kwargs.get("kind", Balance.Kind.REGULAR)
        code = getattr(currency, "code", currency) if kind == Balance.Kind.REGULAR else None
        wallet = kwargs["wallet"]
        wallet.credit_limit = Decimal(wallet.credit_limit)  # a factory's plain 0
        return balance_open(wallet=wallet, kind=kind, currency=code)


class BalanceAssetFactory(factory.django.DjangoModelFactory):
    """An asset row, opened at zero by the ledger (``ledger.lock_assets``). Tests that need money fund
    a wallet through the deposit service: no statement may set ``posted``."""

    class Meta:
        model = BalanceAsset

    balance = factory.SubFactory(BalanceFactory)
    currency = factory.LazyAttribute(lambda asset: asset.balance.currency or Currency.objects.get(code="USD"))
    posted = Decimal(0)
    held = Decimal(0)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        balance, currency = kwargs["balance"], kwargs["currency"]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM ledger.lock_assets(ARRAY[%s::uuid], ARRAY[%s::text])",
                [balance.wallet_id, getattr(currency, "code", currency)],
            )
            (asset_id,) = cursor.fetchone()
        return BalanceAsset.objects.get(pk=asset_id)


class WalletWithBalanceFactory(WalletFactory):
    """A wallet with its balance: ``regular`` in USD unless ``balance__kind``/``balance__currency`` say otherwise."""

    balance = factory.RelatedFactory(BalanceFactory, factory_related_name="wallet")
