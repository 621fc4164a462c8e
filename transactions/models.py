from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.expressions import RawSQL

from balances.models import Currency, amount_field
from walletmanager.money import format_money, format_number
from wallets.models import Wallet


class TransactionQuerySet(models.QuerySet):
    """Transactions, with a list "into or out of these wallets" that reads a busy wallet's page in
    the time of a quiet one's.

    ``wallet_id IN (…) OR to_wallet_id IN (…)`` is one condition over two indexes: PostgreSQL either
    collects every matching row (a bitmap over both) and sorts them all, or walks the whole table's
    newest-first index and filters it, which costs more the deeper the page and the rarer the wallet
    (page 20 of a 56 000-transaction wallet: 85 ms at a million transactions). ``involving_wallets``
    keeps that condition (every count, ``exists`` and unordered read means exactly what it says) and, when an ordered
    queryset is sliced (a page), narrows it first to the page's candidates: per wallet, the first
    ``stop`` rows it sent and the first ``stop`` rows it received from outside the set, each one
    ordered index scan with a LIMIT, merged with UNION ALL. The parts are disjoint and together are
    the whole list, so the top ``stop`` rows of the list are among the candidates; the slice is then
    taken from those in the list's own order, with every filter and ordering it had.
    """

    _involving: tuple = ()  # the wallets whose index scans make a page
    _involving_conditions: tuple = ()  # (wallet ids, ids of its lookups) of each involving_wallets filter

    def involving_wallets(self, wallet_ids) -> TransactionQuerySet:
        """Transactions whose ``wallet`` or ``to_wallet`` is one of ``wallet_ids``."""
        wallet_ids = tuple(dict.fromkeys(wallet_ids))
        if not wallet_ids:
            return self.none()
        involving = self.filter(models.Q(wallet_id__in=wallet_ids) | models.Q(to_wallet_id__in=wallet_ids))
        before = {id(lookup) for lookup in _lookups(self.query.where)}
        lookups = frozenset(id(lookup) for lookup in _lookups(involving.query.where) if id(lookup) not in before)
        involving._involving_conditions = (*self._involving_conditions, (wallet_ids, lookups))
        # Filtered twice, the list is the intersection: splitting it by either set of wallets partitions
        # it, so the smaller set (fewer index scans) drives the pages.
        if not self._involving or len(wallet_ids) <= len(self._involving):
            involving._involving = wallet_ids
        return involving

    def _clone(self):
        clone = super()._clone()
        clone._involving = self._involving
        clone._involving_conditions = self._involving_conditions
        return clone

    def __getitem__(self, k):
        if (
            isinstance(k, slice)
            and self._involving
            and self._result_cache is None
            and self.ordered
            and k.stop is not None
            and k.step is None
            and not self.query.is_sliced
            and not self.query.combinator
            and not self.query.is_empty()
        ):
            return self._page_of_involving(k.start or 0, k.stop)
        return super().__getitem__(k)

    def _without(self, lookups: frozenset) -> TransactionQuerySet:
        """This queryset without the conditions made only of ``lookups`` (ids)."""
        clone = self._chain()
        clone._involving, clone._involving_conditions = (), ()
        clone.query.where.children = [
            child
            for child in clone.query.where.children
            if not (ids := {id(lookup) for lookup in _lookups(child)}) or not ids <= lookups
        ]
        return clone

    def _page_of_involving(self, start: int, stop: int) -> TransactionQuerySet:
        # Every candidate meets every "into or out of" condition, so the page itself needs none of them.
        page_rows = self._without(frozenset().union(*(lookups for _, lookups in self._involving_conditions)))
        if stop <= start:
            return page_rows.none()
        parts = []
        for wallet_id in self._involving:
            # A part implies each OR condition that names its wallet; left in, such a condition only
            # misleads the planner's row estimates (it multiplies selectivities) into sorting the whole
            # wallet for a deep page.
            implied = frozenset().union(*(lookups for ids, lookups in self._involving_conditions if wallet_id in ids))
            rows = self._without(implied)
            parts.append(rows.filter(wallet_id=wallet_id))
            parts.append(rows.filter(to_wallet_id=wallet_id).exclude(wallet_id__in=self._involving))
        order = self._column_order()
        if order is None:
            # Ordered by something else (a joined column): the page is taken from all the candidates.
            candidates = [part.values("pk")[:stop] for part in parts]
            return page_rows.filter(pk__in=candidates[0].union(*candidates[1:], all=True))[start:stop]
        # Ordered by columns of the table: the page's ids are cut from the merged candidates, so only
        # those rows are read in full.
        columns = {f"page_order_{number}": models.F(name) for number, (name, _) in enumerate(order)}
        statements, params = [], []
        for part in parts:
            sql, part_params = part.values(page_id=models.F("pk"), **columns)[:stop].query.sql_with_params()
            statements.append(f"({sql})")
            params.extend(part_params)
        order_by = ", ".join(
            f"page_order_{number} {'DESC' if descending else 'ASC'}" for number, (_, descending) in enumerate(order)
        )
        page = (
            f"SELECT page_id FROM ({' UNION ALL '.join(statements)}) AS page "
            f"ORDER BY {order_by} LIMIT {stop - start} OFFSET {start}"
        )
        return page_rows.filter(pk__in=RawSQL(page, params))

    def _column_order(self) -> list[tuple[str, bool]] | None:
        """The list's ordering as (column, descending) pairs, or None when it is not only by the table's
        own columns."""
        ordering = self.query.order_by or (self.model._meta.ordering if self.query.default_ordering else ())
        order = []
        for item in ordering:
            if not isinstance(item, str):
                return None
            name = item.lstrip("-")
            name = self.model._meta.pk.name if name == "pk" else name
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                return None
            if not field.concrete or field.is_relation:
                return None
            order.append((field.name, item.startswith("-")))
        return order or None


def _lookups(node) -> list:
    """The leaves (lookups) of a WHERE tree. Query.clone() copies the tree's nodes but shares its
    leaves, so a lookup's identity follows a queryset through filter(), order_by() and the rest."""
    children = getattr(node, "children", None)
    if children is None:
        return [node]
    return [leaf for child in children for leaf in _lookups(child)]


class Transaction(models.Model):
    """One money movement. Once posted it never changes, except its status becoming ``reversed``
    (a database trigger enforces this); its effect on balances is the set of its ``Entry`` rows."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"
        TRANSFER = "transfer", "Transfer"
        EXCHANGE = "exchange", "Exchange"
        REVERSAL = "reversal", "Reversal"
        ADJUSTMENT = "adjustment", "Adjustment"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        POSTED = "posted", "Posted"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        REVERSED = "reversed", "Reversed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transactions")
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    amount = amount_field()
    fee = amount_field(default=Decimal(0))
    to_wallet = models.ForeignKey(
        Wallet, null=True, blank=True, on_delete=models.PROTECT, related_name="incoming_transactions"
    )
    to_currency = models.ForeignKey(Currency, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_amount = amount_field(null=True, blank=True)
    rate = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)
    description = models.CharField(max_length=255, blank=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When a pending transaction was resolved.")
    reason = models.TextField(blank=True)
    # A deposit is pending until the money arrives (SPEC §12): the client quotes ``reference`` on the
    # payment, the provider's callback names it with its own ``provider_id``, and what posts is the
    # amount actually received.
    reference = models.CharField(max_length=20, null=True, blank=True, unique=True)
    provider_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    received_amount = amount_field(null=True, blank=True)

    objects = TransactionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="transaction_amount_positive"),
            models.CheckConstraint(condition=models.Q(fee__gte=0), name="transaction_fee_not_negative"),
            models.CheckConstraint(
                condition=models.Q(to_amount__isnull=True) | models.Q(to_amount__gt=0),
                name="transaction_to_amount_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    kind__in=["deposit", "withdrawal", "transfer", "exchange", "reversal", "adjustment"]
                ),
                name="transaction_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "posted", "rejected", "cancelled", "expired", "reversed"]),
                name="transaction_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["posted", "reversed"]) | models.Q(posted_at__isnull=False),
                name="transaction_posted_has_posted_at",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="deposit")
                | (
                    models.Q(reference__isnull=True)
                    & models.Q(provider_id__isnull=True)
                    & models.Q(received_amount__isnull=True)
                ),
                name="transaction_reference_only_on_deposits",
            ),
            models.CheckConstraint(
                condition=models.Q(received_amount__isnull=True) | models.Q(received_amount__gt=0),
                name="transaction_received_amount_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="reversal", reverses__isnull=False)
                | (~models.Q(kind="reversal") & models.Q(reverses__isnull=True)),
                name="transaction_reversal_has_original",
            ),
        ]
        indexes = [
            # A wallet's list, one ordered scan per direction (TransactionQuerySet.involving_wallets): newest
            # first (backwards) or oldest first, and by amount either way, each with the id tiebreak.
            models.Index(fields=["wallet", "created_at", "id"], name="tx_wallet_time_idx"),
            models.Index(fields=["to_wallet", "created_at", "id"], name="tx_to_wallet_time_idx"),
            models.Index(fields=["wallet", "amount", "id"], name="tx_wallet_amount_idx"),
            models.Index(fields=["to_wallet", "amount", "id"], name="tx_to_wallet_amount_idx"),
            models.Index(fields=["-created_at", "-id"], name="tx_created_idx"),
            # ``ordering=±amount`` (tiebreak -id) reads this index instead of sorting the whole table.
            models.Index(fields=["amount", "id"], name="tx_amount_idx"),
            models.Index(fields=["created_at"], name="tx_pending_idx", condition=models.Q(status="pending")),
            # Every withdrawal that ever held money (from created_at until resolved_at): what ``held``
            # was at a past instant is a range scan of these few rows, not of the wallet's history.
            models.Index(
                fields=["wallet", "currency", "created_at"],
                name="tx_hold_history_idx",
                condition=models.Q(kind="withdrawal")
                & (models.Q(status="pending") | models.Q(resolved_at__isnull=False)),
            ),
        ]
        permissions = [
            ("approve_withdrawal", "Can approve and reject pending withdrawals"),
            ("reverse_transaction", "Can reverse posted transactions"),
            ("adjust_balance", "Can request and approve adjustments"),
            ("confirm_deposit", "Can confirm and reject pending deposits"),
        ]

    def __str__(self) -> str:
        amount = format_money(self.amount, currency=self.currency_id, decimals=self.currency.decimals)
        return f"{self.kind} {amount} ({self.status})"


class DailyVolume(models.Model):
    """What the dashboard shows without reading the transactions: per UTC day, kind and currency, how
    many transactions were created, their amount and how many of them are posted (or reversed).

    Written only by the ``transaction_daily_volume`` triggers (migration 0010), in the statement that
    inserts, resolves or deletes transactions, so it always equals an aggregate over the table;
    ``reconcile`` checks that it does. Each database session adds to its own ``shard`` of a day's row
    (its backend pid modulo ``DAILY_VOLUME_SHARDS``), so concurrent movements never wait on one
    another's row; readers sum the shards.
    """

    day = models.DateField()
    kind = models.CharField(max_length=16, choices=Transaction.Kind.choices)
    # No foreign key constraint: the trigger's upsert need not check the currency on every movement.
    currency = models.ForeignKey(
        Currency, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    shard = models.SmallIntegerField()
    transactions = models.BigIntegerField()
    amount = amount_field()
    posted = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "kind", "currency", "shard"], name="daily_volume_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.currency_id}: {self.transactions}"


class Entry(models.Model):
    """One leg of a posted transaction. Per transaction and currency the legs sum to zero; rows are
    never updated or deleted (PostgreSQL triggers, migration 0003).

    Inserting an entry of a client wallet moves its asset's ``posted`` in the database (migration
    0008), which writes the asset's new position into ``balance_after``, numbers the entry with the
    asset's next ``sequence`` and stamps ``created_at`` with the moment the position moved, under the
    asset's row lock: per asset, ``sequence`` and ``created_at`` grow together. System wallets have no
    asset rows (no row shared by every movement), so their entries carry neither."""

    id = models.BigAutoField(primary_key=True)
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    amount = amount_field()
    balance_after = amount_field(null=True, blank=True, help_text="The asset's posted position after this entry.")
    sequence = models.BigIntegerField(null=True, blank=True, help_text="Number of this entry in its asset's history.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "entries"
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="entry_amount_not_zero"),
            models.UniqueConstraint(
                fields=["wallet", "currency", "sequence"],
                condition=models.Q(sequence__isnull=False),
                name="entry_sequence_unique_per_asset",
            ),
        ]
        indexes = [
            # Balance as of an instant and statement ranges: index probes per asset, never sums.
            models.Index(fields=["wallet", "currency", "created_at", "sequence"], name="entry_asset_time_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.wallet_id} {format_money(self.amount, currency=self.currency_id, decimals=self.currency.decimals)}"
        )


class FeeRule(models.Model):
    """fee = clamp(amount × percent_bps / 10 000 + flat, min, max), rounded up to the currency's decimals.

    The most specific active rule wins: one for the transaction's currency before one for any currency."""

    kind = models.CharField(max_length=16, choices=Transaction.Kind.choices)
    currency = models.ForeignKey(
        Currency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: applies to every currency without a rule of its own.",
    )
    percent_bps = models.PositiveIntegerField(default=0, help_text="Basis points: 100 = 1 %.")
    flat = amount_field(default=Decimal(0))
    min_fee = amount_field(default=Decimal(0), verbose_name="min")
    max_fee = amount_field(null=True, blank=True, verbose_name="max")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "currency_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "currency"],
                condition=models.Q(is_active=True),
                name="feerule_one_active_per_currency",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=models.Q(percent_bps__lte=10000), name="feerule_bps_range"),
            models.CheckConstraint(condition=models.Q(flat__gte=0), name="feerule_flat_not_negative"),
            models.CheckConstraint(condition=models.Q(min_fee__gte=0), name="feerule_min_not_negative"),
            models.CheckConstraint(
                condition=models.Q(max_fee__isnull=True) | models.Q(max_fee__gte=models.F("min_fee")),
                name="feerule_max_not_below_min",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["deposit", "withdrawal", "transfer", "exchange"]),
                name="feerule_kind_chargeable",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} fee ({self.currency_id or 'any currency'})"


class ExchangeRate(models.Model):
    """1 ``base`` = ``rate`` ``quote``. The newest row for a pair is the rate in force."""

    base = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    quote = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    rate = models.DecimalField(max_digits=38, decimal_places=18)
    source = models.CharField(max_length=100, blank=True, default="manual")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="rate_positive"),
            models.CheckConstraint(condition=~models.Q(base=models.F("quote")), name="rate_distinct_currencies"),
        ]
        indexes = [models.Index(fields=["base", "quote", "-created_at"], name="rate_pair_newest_idx")]

    def __str__(self) -> str:
        return f"1 {self.base_id} = {format_number(self.rate)} {self.quote_id}"


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` and the response it got, so a retry replays instead of repeating."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class ReconciliationRun(models.Model):
    """One run of ``reconcile``: when it ran, whether the ledger was clean and the full report (JSON),
    kept so the admin dashboard can show the latest result without re-running the checks."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    is_clean = models.BooleanField()
    report = models.JSONField(default=dict)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-started_at"], name="reconciliation_started_idx")]

    def __str__(self) -> str:
        return f"Reconciliation {self.started_at:%Y-%m-%d %H:%M:%S} ({'clean' if self.is_clean else 'DRIFT'})"


class LedgerRequest(models.Model):
    """One request that reached the ledger's door (SPEC §16): its id (derived from the user and their
    ``Idempotency-Key``, or fresh), a fingerprint of what it asked, and the transaction it made. The
    same id with the same content returns that transaction; with other content it is refused.

    Written only by the ``ledger.move`` function (``sql/0014_ledger_move.sql``)."""

    request_id = models.UUIDField(primary_key=True)
    fingerprint = models.CharField(max_length=64)
    # No foreign key constraint: the owner may remove a test's or a restore's rows; reconcile checks the link.
    transaction = models.ForeignKey(
        Transaction, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return str(self.request_id)


class OutgoingVolume(models.Model):
    """What left a wallet in a currency per quarter hour (SPEC §12 velocity, §16): withdrawals,
    transfers out and exchanges out that are live (pending or posted), and the withdrawals among
    them. A rolling 24 hours is the sum of at most 97 rows, never a day of transactions.

    Kept by the ``transaction_outgoing_volume`` trigger (``sql/0014_ledger_move.sql``) in the statement
    that inserts or resolves a transaction; ``reconcile`` checks it against the transactions."""

    wallet = models.ForeignKey(
        Wallet, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    currency = models.ForeignKey(
        Currency, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    bucket = models.DateTimeField(help_text="Start of the quarter hour (UTC).")
    outgoing = amount_field(default=Decimal(0))
    withdrawn = amount_field(default=Decimal(0))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["wallet", "currency", "bucket"], name="outgoing_volume_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.wallet_id} {self.currency_id} {self.bucket:%Y-%m-%d %H:%M}"
