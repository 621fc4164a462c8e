"""Filters of ``GET /api/transactions/`` (SPEC §7)."""

from datetime import timezone as dt_timezone

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

from transactions.models import Transaction
from wallets.models import ADDRESS_ALPHABET, ADDRESS_LENGTH, Wallet
from wallets.selectors import wallet_lookup


class WalletReferenceField(forms.CharField):
    """A wallet's id (a UUID) or its address, in any case, as the commands take it."""

    def clean(self, value):
        value = super().clean(value)
        if value:
            lookup = wallet_lookup(value)
            address = lookup.get("address")
            if address is not None and (len(address) != ADDRESS_LENGTH or set(address) - set(ADDRESS_ALPHABET)):
                raise forms.ValidationError("Enter a wallet id (a UUID) or a wallet address.", code="invalid")
        return value


class WalletReferenceFilter(django_filters.Filter):
    field_class = WalletReferenceField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant in UTC: Python accepts offsets up to ±23:59 that PostgreSQL refuses past
    ±15:59, so the instant is moved to UTC before it reaches the database."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(dt_timezone.utc)
        except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
            raise ValidationError("This instant is out of range.", code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class TransactionFilter(django_filters.FilterSet):
    wallet = WalletReferenceFilter(
        method="filter_wallet", help_text="Transactions from or to this wallet: its id or its address."
    )
    kind = django_filters.ChoiceFilter(choices=Transaction.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Transaction.Status.choices)
    currency = django_filters.CharFilter(field_name="currency_id", max_length=10)
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte", max_digits=38, decimal_places=18)
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte", max_digits=38, decimal_places=18)
    ordering = django_filters.OrderingFilter(
        fields=(("created_at", "created_at"), ("amount", "amount")),
        help_text="created_at, -created_at (default), amount or -amount.",
    )

    class Meta:
        model = Transaction
        fields = ["wallet", "kind", "status", "currency"]

    def filter_wallet(self, queryset, name, value):
        # The id as a literal, not a subquery: "IN (subquery) OR IN (subquery)" defeats both indexes.
        wallet_ids = list(Wallet.objects.filter(**wallet_lookup(value)).values_list("pk", flat=True))
        return queryset.filter(Q(wallet_id__in=wallet_ids) | Q(to_wallet_id__in=wallet_ids))

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        ordering = self.form.cleaned_data.get("ordering")
        if ordering:
            # A stable tiebreak so pages never overlap.
            queryset = queryset.order_by(*ordering, "-id")
        return queryset
