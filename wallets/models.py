import secrets
import uuid

from django.conf import settings
from django.db import models

from walletmanager.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS

# Crockford-style alphabet without look-alikes (no 0/O, 1/I/L): addresses are read aloud and typed.
ADDRESS_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ADDRESS_LENGTH = 26


def generate_address() -> str:
    return "".join(secrets.choice(ADDRESS_ALPHABET) for _ in range(ADDRESS_LENGTH))


class Wallet(models.Model):
    """A customer's wallet. Money lives in its balance (``balances`` app); others pay it by ``address``."""

    class Kind(models.TextChoices):
        DEBIT = "debit", "Debit"
        CREDIT = "credit", "Credit"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked"
        CLOSED = "closed", "Closed"

    class SystemRole(models.TextChoices):
        EXTERNAL = "external", "External (deposits and withdrawals)"
        FX = "fx", "FX (exchanges)"
        FEES = "fees", "Fees"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    address = models.CharField(max_length=ADDRESS_LENGTH, unique=True, default=generate_address, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallets")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DEBIT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    credit_limit = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, default=0)
    # Wrong-PIN counts and lockouts live in the shared cache, not here: they must survive the rollback
    # of the refused operation that counted them (see wallets.services.wallet_verify_pin).
    pin = models.CharField(
        max_length=128,
        blank=True,
        help_text="HMAC-SHA256 under PIN_KEY (wallets.services.wallet_pin_hash); older Django password hashes "
        "are re-keyed on the next right PIN.",
    )
    system_role = models.CharField(max_length=16, choices=SystemRole.choices, null=True, blank=True, unique=True)
    block_reason = models.TextField(blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(credit_limit__gte=0), name="wallet_credit_limit_not_negative"),
            models.CheckConstraint(
                condition=models.Q(kind="credit") | models.Q(credit_limit=0), name="wallet_credit_limit_only_credit"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=["debit", "credit"]), name="wallet_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "blocked", "closed"]), name="wallet_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(address__regex=r"^[2-9A-HJKMNP-Z]{26}$"), name="wallet_address_format"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status"], name="wallet_owner_status_idx"),
            models.Index(fields=["status", "kind"], name="wallet_status_kind_idx"),
        ]
        permissions = [
            ("block_wallet", "Can block, unblock and close wallets"),
            ("set_credit_limit", "Can open credit wallets and request and approve credit limits"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"

    @property
    def is_system(self) -> bool:
        return self.system_role is not None
