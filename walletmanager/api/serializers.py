"""Request fields and serializers every app's API shares."""

from __future__ import annotations

from datetime import datetime, tzinfo

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from walletmanager.api.schema import ClosedSchema
from walletmanager.money import InvalidAmount, to_decimal


@extend_schema_field({"type": "string", "pattern": r"^\d+(\.\d+)?$", "example": "10.50"})
class AmountField(serializers.Field):
    """An amount as a string ("10.50") or an exact JSON number, parsed straight to Decimal (never via
    float, never rounded); the services judge it against its currency (SPEC §2)."""

    default_error_messages = {"invalid": "A valid number is required."}

    def to_internal_value(self, data):
        try:
            return to_decimal(data)
        except InvalidAmount as error:
            raise serializers.ValidationError(str(error)) from None

    def to_representation(self, value):
        return str(value)


def datetime_representation(value: datetime | None, zone: tzinfo) -> str | None:
    """An aware datetime as DRF's ``DateTimeField`` renders it under our settings (ISO 8601 in
    ``zone``, ``Z`` for UTC), for the plain ``to_representation`` of hot serializers. ``zone`` is
    ``timezone.get_current_timezone()``, looked up once per object: the lookup costs more than the
    formatting."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def text_or_none(value: object) -> str | None:
    """A nullable column (an id, a code, a text) as DRF's ``CharField`` / ``UUIDField`` render it."""
    return None if value is None else str(value)


class IdField(serializers.UUIDField):
    """An object's id: a UUID written as a string. DRF's ``UUIDField`` also turns a JSON number into
    ``UUID(int=n)``, so ``{"wallet": 12}`` looked up a wallet that cannot exist (404) where
    ``"not-a-uuid"`` answered 400; both are malformed ids."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=str(data)[:50])
        return super().to_internal_value(data)


class StrictSerializer(ClosedSchema, serializers.Serializer):
    """Refuses fields it does not know: a typo (``credit_limt``) must not be silently ignored."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(str(name) for name in set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name[:100]: ["Unknown field."] for name in unknown[:20]}, code="unknown_field"
                )
        return super().to_internal_value(data)
