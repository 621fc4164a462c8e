from decimal import Decimal

from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models

from walletmanager.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, format_money
from wallets.models import Wallet


def amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, **kwargs)


class Currency(models.Model):
    """A currency the provider handles. Seeded by a data migration, managed by staff in the admin."""

    code = models.CharField(
        primary_key=True,
        max_length=10,
        validators=[RegexValidator(r"^[A-Z0-9]{3,10}$", "3 to 10 characters, A–Z and 0–9.")],
    )
    name = models.CharField(max_length=100)
    decimals = models.PositiveSmallIntegerField(validators=[MaxValueValidator(18)])
    is_active = models.BooleanField(default=True)
    withdrawal_approval_threshold = amount_field(
        null=True,
        blank=True,
        help_text="A withdrawal waits for staff approval when it, or the wallet's withdrawals in this currency "
        "over the last 24 hours including it, reach this amount.",
    )
    daily_outgoing_limit = amount_field(
        null=True,
        blank=True,
        help_text="At most this much may leave one wallet in this currency per rolling 24 hours "
        "(withdrawals, transfers out and exchanges out). Empty: no limit.",
    )

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"
        constraints = [
            models.CheckConstraint(condition=models.Q(code__regex=r"^[A-Z0-9]{3,10}$"), name="currency_code_format"),
            models.CheckConstraint(condition=models.Q(decimals__lte=18), name="currency_decimals_range"),
            models.CheckConstraint(
                condition=models.Q(withdrawal_approval_threshold__isnull=True)
                | models.Q(withdrawal_approval_threshold__gt=0),
                name="currency_threshold_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(daily_outgoing_limit__isnull=True) | models.Q(daily_outgoing_limit__gt=0),
                name="currency_daily_limit_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Balance(models.Model):
    """The money side of a wallet: one currency (``regular``) or any active currency (``multi``)."""

    class Kind(models.TextChoices):
        REGULAR = "regular", "Single currency"
        MULTI = "multi", "Multi-currency"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        FROZEN = "frozen", "Frozen"

    wallet = models.OneToOneField(Wallet, on_delete=models.PROTECT, related_name="balance")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REGULAR)
    currency = models.ForeignKey(
        Currency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The only currency of a regular balance.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    freeze_reason = models.TextField(blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="regular") & models.Q(currency__isnull=False))
                | (models.Q(kind="multi") & models.Q(currency__isnull=True)),
                name="balance_regular_has_currency",
            ),
            models.CheckConstraint(condition=models.Q(status__in=["active", "frozen"]), name="balance_status_valid"),
        ]
        permissions = [("freeze_balance", "Can freeze and unfreeze balances")]

    def __str__(self) -> str:
        return f"Balance of {self.wallet.address}"

    def allows(self, currency_code: str) -> bool:
        return self.kind == self.Kind.MULTI or self.currency_id == currency_code


class BalanceAsset(models.Model):
    """What a balance holds in one currency.

    ``posted`` is the sum of the wallet's ledger entries in this currency and ``held`` the sum of its
    pending withdrawals. PostgreSQL derives both (``transactions`` migration 0008): an inserted entry
    moves ``posted`` and numbers itself with ``sequence``, a pending withdrawal starting or ending moves
    ``held``; no statement may write them directly, and an asset starts at zero. ``credit_limit``
    mirrors the wallet's limit so that PostgreSQL itself can refuse
    an asset below its floor: ``posted - held >= -credit_limit`` (0 for debit wallets).
    System wallets have no assets: their positions are derived from entries, so no client
    transaction ever waits for a lock on a system row.
    """

    balance = models.ForeignKey(Balance, on_delete=models.PROTECT, related_name="assets")
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    posted = amount_field(default=Decimal(0))
    held = amount_field(default=Decimal(0))
    credit_limit = amount_field(default=Decimal(0))
    sequence = models.BigIntegerField(default=0, help_text="Sequence number of the asset's last entry.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["currency_id"]
        constraints = [
            models.UniqueConstraint(fields=["balance", "currency"], name="asset_unique_per_balance_currency"),
            models.CheckConstraint(condition=models.Q(held__gte=0), name="asset_held_not_negative"),
            models.CheckConstraint(condition=models.Q(credit_limit__gte=0), name="asset_credit_limit_not_negative"),
            models.CheckConstraint(
                condition=models.Q(posted__gte=models.F("held") - models.F("credit_limit")),
                name="asset_above_floor",
            ),
        ]

    def __str__(self) -> str:
        return format_money(self.posted, currency=self.currency_id, decimals=self.currency.decimals)

    @property
    def available(self) -> Decimal:
        return self.posted - self.held + self.credit_limit
