import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from wallets.models import Wallet


@extend_schema_field({"type": "integer", "minimum": 1})
class IdFilter(django_filters.NumberFilter):
    """A user id: an integer, in the schema too (a NumberFilter would take and document 1.5)."""

    field_class = forms.IntegerField


class WalletFilter(django_filters.FilterSet):
    """Staff narrow the wallet list; a client's list is already only their own wallets."""

    owner = IdFilter(field_name="owner_id", min_value=1, max_value=2**63 - 1)
    status = django_filters.ChoiceFilter(choices=Wallet.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Wallet.Kind.choices)

    class Meta:
        model = Wallet
        fields = ["owner", "status", "kind"]
