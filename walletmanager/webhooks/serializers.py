from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from walletmanager.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@extend_schema_field({"type": "string", "enum": WebhookEndpoint.Scope.values})
class WebhookScopeField(serializers.ChoiceField):
    pass


@extend_schema_field({"type": "string", "enum": WebhookDelivery.Status.values})
class WebhookDeliveryStatusField(serializers.ChoiceField):
    pass


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint as its owner sees it; the secret is only in the answer that created it."""

    scope = WebhookScopeField(choices=WebhookEndpoint.Scope.choices, read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "scope",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="whsec_… — shown this once. Verify deliveries with it (Standard Webhooks)."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="https:// to a public address.")
    events = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        max_length=50,
        help_text='Event types to receive (GET /api/webhooks/event-types/), or ["*"] for all.',
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    scope = WebhookScopeField(
        choices=WebhookEndpoint.Scope.choices,
        required=False,
        default=WebhookEndpoint.Scope.OWN,
        help_text='"own": events about your wallets. "all": every wallet (staff with manage_webhooks).',
    )


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "attempted_at", "status_code", "duration_ms", "error", "response_excerpt"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.public_id", read_only=True)
    type = serializers.CharField(source="event.type", read_only=True)
    status = WebhookDeliveryStatusField(choices=WebhookDelivery.Status.choices, read_only=True)
    attempts = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "type",
            "status",
            "attempt_count",
            "last_status_code",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "attempts",
        ]
        read_only_fields = fields


class WebhookEventTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    description = serializers.CharField()


class WebhookDeliveryPageSerializer(serializers.Serializer):
    """One page of an endpoint's deliveries (the schema of the paginated answer)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = WebhookDeliverySerializer(many=True)
