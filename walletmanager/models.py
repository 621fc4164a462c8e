from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditEvent(models.Model):
    """One row per staff action and money movement. Append-only: the admin can neither edit nor delete one,
    and a database trigger refuses UPDATE and DELETE."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-created_at"], name="audit_target_idx"),
            models.Index(fields=["action", "-created_at"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


class AuditSeal(models.Model):
    """One sealed block of the audit trail (SPEC §15): every event with an id after the previous
    block's ``last_event_id`` up to this one's, hashed in id order onto the previous block's hash.
    Append-only like the events; ``walletmanager.audit_seal`` writes and verifies them."""

    first_event_id = models.BigIntegerField()
    last_event_id = models.BigIntegerField()
    event_count = models.PositiveIntegerField()
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_event_id"]
        constraints = [
            # Two blocks on one predecessor would fork the chain; two ending at one event would overlap.
            models.UniqueConstraint(fields=["previous_hash"], name="auditseal_one_successor"),
            models.UniqueConstraint(fields=["last_event_id"], name="auditseal_one_block_per_end"),
            models.CheckConstraint(
                condition=models.Q(
                    first_event_id__gte=1, first_event_id__lte=models.F("last_event_id"), event_count__gte=1
                ),
                name="auditseal_range_not_empty",
            ),
            models.CheckConstraint(
                condition=models.Q(hash__regex=r"^[0-9a-f]{64}$", previous_hash__regex=r"^[0-9a-f]{64}$"),
                name="auditseal_hashes_are_sha256_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"block {self.pk} (events {self.first_event_id}–{self.last_event_id})"
