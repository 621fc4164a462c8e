from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from walletmanager.approvals.models import ApprovalRequest


# A plain string in the schema: "status" is an enum of other components too, and one name for
# several choice sets makes drf-spectacular warn.
@extend_schema_field({"type": "string", "enum": ApprovalRequest.Status.values})
class ApprovalStatusField(serializers.ChoiceField):
    pass


class ApprovalRequestSerializer(serializers.ModelSerializer):
    """A request for a second operator (staff only ever see these)."""

    requested_by = serializers.EmailField(source="requested_by.email", read_only=True)
    decided_by = serializers.EmailField(source="decided_by.email", read_only=True, allow_null=True)
    status = ApprovalStatusField(choices=ApprovalRequest.Status.choices, read_only=True)

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "action",
            "summary",
            "payload",
            "target_type",
            "target_id",
            "status",
            "reason",
            "requested_by",
            "created_at",
            "decided_by",
            "decision_reason",
            "decided_at",
            "failure_code",
            "result",
        ]
        read_only_fields = fields


class ApprovalDecisionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ApprovalRejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)
