import django_filters

from wallets.models import Wallet


class WalletFilter(django_filters.FilterSet):
    """Staff narrow the wallet list; a client's list is already only their own wallets."""

    owner = django_filters.NumberFilter(field_name="owner_id", min_value=1, max_value=2**63 - 1)
    status = django_filters.ChoiceFilter(choices=Wallet.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Wallet.Kind.choices)

    class Meta:
        model = Wallet
        fields = ["owner", "status", "kind"]
