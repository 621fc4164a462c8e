from decimal import Decimal

import factory

from balances.models import Balance, BalanceAsset, Currency
from wallets.tests.factories import WalletFactory


class BalanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Balance
        skip_postgeneration_save = True

    wallet = factory.SubFactory(WalletFactory)
    kind = Balance.Kind.REGULAR
    currency = factory.LazyFunction(lambda: Currency.objects.get(code="USD"))


class BalanceAssetFactory(factory.django.DjangoModelFactory):
    """An asset row. Its ``posted`` must match ledger entries: tests that need money should fund a
    wallet through the deposit service, not by setting ``posted``."""

    class Meta:
        model = BalanceAsset

    balance = factory.SubFactory(BalanceFactory)
    currency = factory.LazyAttribute(lambda asset: asset.balance.currency or Currency.objects.get(code="USD"))
    posted = Decimal(0)
    held = Decimal(0)


class WalletWithBalanceFactory(WalletFactory):
    """A wallet with its balance: ``regular`` in USD unless ``balance__kind``/``balance__currency`` say otherwise."""

    balance = factory.RelatedFactory(BalanceFactory, factory_related_name="wallet")
