"""Query parameters and response shapes of ``/api/wallets/{id}/balance/`` and ``…/statement/`` (SPEC §14)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from transactions.statements import AssetAsOf, entry_description
from walletmanager.instants import InstantOutOfRange, to_utc
from walletmanager.money import format_amount

AMOUNT_SCHEMA = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "example": "100.00"}
FORMATS = ("json", "csv", "pdf")
MAX_TEXT = 64


@extend_schema_field(OpenApiTypes.STR)
class InstantField(serializers.Field):
    """An ISO 8601 date or date-time, returned as an aware UTC datetime.

    A date alone means the whole day in the project's time zone: its first instant for a range's
    start, its last one (23:59:59.999999, PostgreSQL's resolution) for an end or an "as of". A
    date-time without an offset is in the project's time zone. Offsets are applied here, in Python:
    PostgreSQL refuses offsets beyond ±15:59, which ISO 8601 and Python accept."""

    default_error_messages = {
        "invalid": "Expected an ISO 8601 date (2026-11-01) or date-time (2026-11-01T12:00:00Z).",
        "range": "This instant is out of range.",
    }

    def __init__(self, *, end_of_day: bool, **kwargs) -> None:
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> datetime:
        if not isinstance(data, str) or not data.strip() or len(data) > MAX_TEXT:
            self.fail("invalid")
        text = data.strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
        try:
            if day is not None:
                return self._day_bound(day)
            value = parse_datetime(text)
            if value is None:
                self.fail("invalid")
            return to_utc(value)
        except InstantOutOfRange:
            self.fail("range")
        except ValueError:  # a well-formed text naming no real instant (month 13, hour 25)
            self.fail("invalid")
        except OverflowError:  # the last day of year 9999 in a zone ahead of UTC
            self.fail("range")

    def _day_bound(self, day: date) -> datetime:
        zone = timezone.get_default_timezone()
        if self.end_of_day:
            if day == date.max:
                return datetime.max.replace(tzinfo=UTC)
            start_of_next = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), zone)
            return (start_of_next - timedelta(microseconds=1)).astimezone(UTC)
        return timezone.make_aware(datetime.combine(day, time.min), zone).astimezone(UTC)

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class BalanceAsOfQuerySerializer(serializers.Serializer):
    at = InstantField(end_of_day=True, required=False)


class StatementQuerySerializer(serializers.Serializer):
    currency = serializers.CharField(max_length=10)
    to = InstantField(end_of_day=True, required=False)
    format = serializers.ChoiceField(choices=FORMATS, required=False, default="json")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = InstantField(end_of_day=False)  # a Python keyword: declared here, not as an attribute
        return fields

    def validate_currency(self, value: str) -> str:
        return value.strip().upper()

    def validate(self, data):
        data.setdefault("to", timezone.now())
        return data


# --- output ----------------------------------------------------------------------------------------


class AssetAsOfSerializer(serializers.Serializer):
    currency = serializers.CharField()
    posted = serializers.SerializerMethodField()
    held = serializers.SerializerMethodField()
    available = serializers.SerializerMethodField()

    @extend_schema_field(AMOUNT_SCHEMA)
    def get_posted(self, asset: AssetAsOf) -> str:
        return format_amount(asset.posted, decimals=asset.decimals)

    @extend_schema_field(AMOUNT_SCHEMA)
    def get_held(self, asset: AssetAsOf) -> str:
        return format_amount(asset.held, decimals=asset.decimals)

    @extend_schema_field(AMOUNT_SCHEMA)
    def get_available(self, asset: AssetAsOf) -> str:
        return format_amount(asset.available, decimals=asset.decimals)


class BalanceAsOfSerializer(serializers.Serializer):
    wallet = serializers.UUIDField(source="wallet.pk")
    at = serializers.DateTimeField()
    assets = AssetAsOfSerializer(many=True)


class StatementEntrySerializer(serializers.Serializer):
    """One line of a statement; the context carries the statement (its wallet and currency)."""

    sequence = serializers.IntegerField(help_text="The entry's number in the asset's history: 1, 2, 3 …")
    created_at = serializers.DateTimeField(help_text="When the position moved.")
    transaction = serializers.UUIDField(source="transaction_id")
    kind = serializers.CharField(source="transaction.kind", help_text="The transaction's kind.")
    description = serializers.SerializerMethodField(
        help_text='"Transfer to <address>", "Transfer from <address>", "Exchange USD → EUR", or the kind and '
        "the transaction's description."
    )
    amount = serializers.SerializerMethodField(help_text="Signed: negative when money left the wallet.")
    balance_after = serializers.SerializerMethodField(help_text="The posted balance right after this entry.")

    @extend_schema_field(OpenApiTypes.STR)
    def get_description(self, entry) -> str:
        return entry_description(entry, wallet=self.context["statement"].wallet)

    @extend_schema_field(AMOUNT_SCHEMA)
    def get_amount(self, entry) -> str:
        return format_amount(entry.amount, decimals=self.context["statement"].currency.decimals)

    @extend_schema_field(AMOUNT_SCHEMA)
    def get_balance_after(self, entry) -> str:
        return format_amount(entry.balance_after, decimals=self.context["statement"].currency.decimals)


class StatementSerializer(serializers.Serializer):
    """A statement around one page of its entries: renders ``{"statement", "next", "previous",
    "results"}``, with the statement also in the context (its entries need its wallet and currency)."""

    wallet = serializers.UUIDField(source="statement.wallet.pk")
    currency = serializers.CharField(source="statement.currency.code")
    opening_balance = serializers.SerializerMethodField(help_text="The posted balance just before `from`.")
    closing_balance = serializers.SerializerMethodField(help_text="The posted balance at `to`.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = StatementEntrySerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        # Python keywords: declared here, not as class attributes.
        fields["from"] = serializers.DateTimeField(source="statement.date_from", help_text="The first instant covered.")
        fields["to"] = serializers.DateTimeField(source="statement.date_to", help_text="The last instant covered.")
        return fields

    @extend_schema_field(AMOUNT_SCHEMA)
    def get_opening_balance(self, page) -> str:
        statement = page["statement"]
        return format_amount(statement.opening_balance, decimals=statement.currency.decimals)

    @extend_schema_field(AMOUNT_SCHEMA)
    def get_closing_balance(self, page) -> str:
        statement = page["statement"]
        return format_amount(statement.closing_balance, decimals=statement.currency.decimals)
