import factory

from users.tests.factories import UserFactory
from wallets.models import Wallet
from wallets.services import wallet_pin_hash

DEFAULT_PIN = "1234"


class WalletFactory(factory.django.DjangoModelFactory):
    """A wallet row only. Tests that need money use ``balances.tests.factories.WalletWithBalanceFactory``."""

    class Meta:
        model = Wallet
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Wallet {n}")
    kind = Wallet.Kind.DEBIT
    pin = factory.LazyFunction(lambda: wallet_pin_hash(DEFAULT_PIN))
