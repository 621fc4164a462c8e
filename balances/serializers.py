from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from balances.models import Currency
from walletmanager.money import format_amount
from wallets.serializers import AMOUNT_SCHEMA


class CurrencySerializer(serializers.ModelSerializer):
    withdrawal_approval_threshold = serializers.SerializerMethodField()

    class Meta:
        model = Currency
        fields = ["code", "name", "decimals", "withdrawal_approval_threshold"]
        read_only_fields = fields

    @extend_schema_field({**AMOUNT_SCHEMA, "nullable": True})
    def get_withdrawal_approval_threshold(self, currency) -> str | None:
        threshold = currency.withdrawal_approval_threshold
        return None if threshold is None else format_amount(threshold, decimals=currency.decimals)
