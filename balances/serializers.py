from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from balances.models import Currency
from walletmanager.money import format_amount
from wallets.serializers import AMOUNT_SCHEMA


class CurrencySerializer(serializers.ModelSerializer):
    withdrawal_approval_threshold = serializers.SerializerMethodField()
    daily_outgoing_limit = serializers.SerializerMethodField()

    class Meta:
        model = Currency
        fields = ["code", "name", "decimals", "withdrawal_approval_threshold", "daily_outgoing_limit"]
        read_only_fields = fields

    @extend_schema_field({**AMOUNT_SCHEMA, "nullable": True})
    def get_daily_outgoing_limit(self, currency) -> str | None:
        limit = currency.daily_outgoing_limit
        return None if limit is None else format_amount(limit, decimals=currency.decimals)

    @extend_schema_field({**AMOUNT_SCHEMA, "nullable": True})
    def get_withdrawal_approval_threshold(self, currency) -> str | None:
        threshold = currency.withdrawal_approval_threshold
        return None if threshold is None else format_amount(threshold, decimals=currency.decimals)
