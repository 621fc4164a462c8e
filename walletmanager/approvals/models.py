from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class ApprovalRequest(models.Model):
    """An operator's request to run a registered action (an adjustment, a reversal, a credit limit),
    waiting for a second operator. Approving runs the action's service in one database transaction;
    a refusal leaves the request ``failed`` with the refusal's code."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"
        FAILED = "failed", "Failed"

    action = models.CharField(max_length=64)
    payload = models.JSONField(encoder=DjangoJSONEncoder, help_text="The action's arguments, as the maker gave them.")
    summary = models.CharField(max_length=255, help_text="What the request would do, in words.")
    target_type = models.CharField(max_length=64, help_text="What it acts on, like an audit event's target.")
    target_id = models.CharField(max_length=64)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "approved", "rejected", "expired", "failed"]),
                name="approval_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status="pending", decided_at__isnull=True)
                | (~models.Q(status="pending") & models.Q(decided_at__isnull=False)),
                name="approval_decided_when_resolved",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "action", "-created_at"], name="approval_queue_idx"),
            models.Index(fields=["target_type", "target_id"], name="approval_target_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.summary} ({self.status})"
