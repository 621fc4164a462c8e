import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from walletmanager.encrypted_fields import EncryptedTextField

ALL_EVENTS = "*"
# Staff holding it subscribe to every wallet's events, see every endpoint, resend and re-enable.
MANAGE_WEBHOOKS = "webhooks.manage_webhooks"


class WebhookEndpoint(models.Model):
    """Where a client (or, with ``manage_webhooks``, staff) wants events delivered. Deleting one keeps
    the row (``deleted_at``) so its delivery log stays readable."""

    class Scope(models.TextChoices):
        OWN = "own", "Events about the owner's wallets"
        ALL = "all", "Events about every wallet (staff with manage_webhooks)"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = ArrayField(models.CharField(max_length=64), help_text='Event types delivered, or ["*"] for all.')
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.OWN)
    # The signing key as the client received it (whsec_…): HMAC needs the key itself, not a hash, so it
    # is encrypted at rest (a Fernet token in the column, SPEC §13).
    secret = EncryptedTextField()
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("manage_webhooks", "Can subscribe to every wallet's events and manage all endpoints")]
        indexes = [
            models.Index(
                fields=["scope", "owner"],
                name="webhook_endpoint_live_idx",
                condition=Q(is_active=True, deleted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(events=[]), name="webhook_endpoint_has_events"),
        ]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events


class WebhookEvent(models.Model):
    """The outbox: one row per event, written in the database transaction of the change it reports."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64)
    data = models.JSONField(encoder=DjangoJSONEncoder)
    # Whose wallets the event is about: their own-scope endpoints receive it.
    owner_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.id.hex}"

    def payload(self) -> dict:
        """What a receiver gets (SPEC §15): ``{id, type, created_at, data}``."""
        return {"id": self.public_id, "type": self.type, "created_at": self.created_at, "data": self.data}


class WebhookDelivery(models.Model):
    """One event on its way to one endpoint, retried until delivered or out of time."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When this round of attempts began: retries stop WEBHOOK_RETRY_WINDOW after it (a resend starts a new one).
    retry_window_started_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once_per_endpoint"),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint_idx"),
            models.Index(fields=["status", "-created_at"], name="webhook_delivery_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint.url}"


class WebhookAttempt(models.Model):
    """One POST to an endpoint, as it went: kept for the operator and the client (append-only)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number_unique")]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
