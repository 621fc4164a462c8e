"""Request fields and serializers every app's API shares."""

from __future__ import annotations

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
