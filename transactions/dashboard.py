"""What the admin index tells operators at a glance (SPEC §8): liabilities, what needs attention
(pending approvals and deposits, blocked users, frozen balances, ageing rates), today's volume,
reconciliation status and 30 days of activity as a chart with axes. Every figure is one aggregate query;
today's volume and the chart read the per-day rollups the ledger keeps (``DailyVolume``), a few hundred rows
whatever the size of the ledger, instead of aggregating the transactions themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from balances.models import Balance, BalanceAsset, Currency
from transactions.models import DailyVolume, ExchangeRate, ReconciliationRun, Transaction
from users.models import User
from walletmanager.money import format_money

CHART_DAYS = 30


@dataclass(frozen=True)
class DailyBar:
    day: date
    count: int
    x: int
    y: int
    height: int


@dataclass(frozen=True)
class AxisMark:
    label: str
    x: int
    y: int


@dataclass(frozen=True)
class DailyChart:
    """A bar chart laid out for a server-rendered SVG (the CSP allows no script): bars, the two axes'
    ends, the y axis's marks (0, half and the busiest day) and a date under every fifth day."""

    width: int
    height: int
    left: int
    bottom: int
    right: int
    top: int
    bar_width: int
    bars: list[DailyBar]
    y_marks: list[AxisMark]
    x_marks: list[AxisMark]


def client_liabilities() -> list[dict]:
    """What the provider owes its clients per currency: the posted balances of client wallets."""
    decimals = dict(Currency.objects.values_list("code", "decimals"))
    rows = (
        BalanceAsset.objects.filter(balance__wallet__system_role__isnull=True)
        .values("currency_id")
        .annotate(posted=Sum("posted"), held=Sum("held"), assets=Count("id"))
        .order_by("currency_id")
    )
    return [
        {
            "currency": row["currency_id"],
            "posted": format_money(
                row["posted"], currency=row["currency_id"], decimals=decimals.get(row["currency_id"], 2)
            ),
            "held": format_money(
                row["held"], currency=row["currency_id"], decimals=decimals.get(row["currency_id"], 2)
            ),
            "assets": row["assets"],
        }
        for row in rows
    ]


def pending_transactions(kind: str) -> dict:
    """How many transactions of ``kind`` wait (withdrawals: for approval; deposits: for their money)."""
    pending = Transaction.objects.filter(status=Transaction.Status.PENDING, kind=kind)
    summary = pending.aggregate(count=Count("id"))
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    return {"count": summary["count"], "oldest": oldest}


def pending_withdrawals() -> dict:
    return pending_transactions(Transaction.Kind.WITHDRAWAL)


def pending_approval_requests() -> dict:
    """Operator requests waiting for a second operator (SPEC §12)."""
    from walletmanager.approvals.models import ApprovalRequest

    pending = ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING)
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    return {"count": pending.count(), "oldest": oldest}


def _days_are_utc() -> bool:
    """The rollups count UTC days: they answer for the dashboard's days when its time zone is UTC
    (``TIME_ZONE``, the default); in any other zone the figures are read from the transactions."""
    return timezone.get_current_timezone_name() == "UTC"


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def volume_today(now: datetime | None = None) -> list[dict]:
    """Today's transactions per kind and currency: how many, their amount, how many are posted."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if _days_are_utc():
        rows = (
            DailyVolume.objects.filter(day=today)
            .values("kind", "currency_id", "currency__decimals")
            .annotate(count=Sum("transactions"), amount=Sum("amount"), posted=Sum("posted"))
            .filter(count__gt=0)
            .order_by("kind", "currency_id")
        )
    else:
        rows = volume_scanned(_start_of(today), now)
    return [
        {**row, "amount": format_money(row["amount"], currency=row["currency_id"], decimals=row["currency__decimals"])}
        for row in rows
    ]


def volume_scanned(start: datetime, end: datetime) -> list[dict]:
    """``volume_today`` read from the transactions themselves (what the rollups must equal)."""
    return list(
        Transaction.objects.filter(created_at__gte=start, created_at__lte=end)
        .values("kind", "currency_id", "currency__decimals")
        .annotate(
            count=Count("id"),
            amount=Sum("amount"),
            posted=Count("id", filter=Q(status__in=[Transaction.Status.POSTED, Transaction.Status.REVERSED])),
        )
        .order_by("kind", "currency_id")
    )


def daily_counts(first_day: date, now: datetime) -> dict[date, int]:
    """Transactions created per day from ``first_day`` until ``now``."""
    if _days_are_utc():
        return dict(
            DailyVolume.objects.filter(day__gte=first_day, day__lte=timezone.localdate(now))
            .values("day")
            .annotate(count=Sum("transactions"))
            .filter(count__gt=0)
            .values_list("day", "count")
        )
    return daily_counts_scanned(first_day, now)


def daily_counts_scanned(first_day: date, now: datetime) -> dict[date, int]:
    """``daily_counts`` read from the transactions themselves (what the rollups must equal)."""
    return dict(
        Transaction.objects.filter(created_at__gte=_start_of(first_day), created_at__lte=now)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("id"))
        .values_list("day", "count")
    )


def daily_activity(now: datetime | None = None, *, width: int = 640, height: int = 160) -> DailyChart:
    """Transactions per day over the last 30 days, laid out as an SVG bar chart with axes."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first_day = today - timedelta(days=CHART_DAYS - 1)
    counts = daily_counts(first_day, now)
    peak = max(counts.values(), default=0)
    left, right, top, bottom = 48, width - 8, 12, height - 22  # room for the y labels and the dates
    plot_height = bottom - top
    slot = (right - left) // CHART_DAYS
    bars = []
    for index in range(CHART_DAYS):
        day = first_day + timedelta(days=index)
        count = counts.get(day, 0)
        bar_height = round(count / peak * plot_height) if peak else 0
        bars.append(DailyBar(day=day, count=count, x=left + index * slot + 2, y=bottom - bar_height, height=bar_height))
    scale = sorted({0, peak // 2, peak}) if peak else [0]
    y_marks = [
        AxisMark(str(value), left - 6, bottom - round(value / peak * plot_height) if peak else bottom)
        for value in scale
    ]
    x_marks = [
        AxisMark(
            f"{first_day + timedelta(days=index):%b} {(first_day + timedelta(days=index)).day}",
            left + index * slot + slot // 2,
            bottom + 16,
        )
        for index in range(CHART_DAYS)
        if index % 5 == 4 or index == 0
    ]
    return DailyChart(
        width=width,
        height=height,
        left=left,
        bottom=bottom,
        right=right,
        top=top,
        bar_width=slot - 4,
        bars=bars,
        y_marks=y_marks,
        x_marks=x_marks,
    )


def needs_attention() -> dict:
    """What an operator should look at today besides the queues: blocked clients, frozen balances and
    the exchange rates that have passed half their maximum age (``EXCHANGE_RATE_MAX_AGE``), which
    exchanges will refuse once they pass all of it."""
    stale_after = settings.EXCHANGE_RATE_MAX_AGE / 2
    stale_rates = (
        ExchangeRate.objects.values("base_id", "quote_id")
        .annotate(latest=Max("created_at"))
        .filter(latest__lt=timezone.now() - stale_after)
        .count()
    )
    return {
        "blocked_users": User.objects.filter(status=User.Status.BLOCKED).count(),
        "frozen_balances": Balance.objects.filter(status=Balance.Status.FROZEN).count(),
        "stale_rates": stale_rates,
        "stale_after_hours": round(stale_after.total_seconds() / 3600),
    }


def last_reconciliation() -> ReconciliationRun | None:
    return ReconciliationRun.objects.order_by("-started_at").first()


# --- issue 24: what the operator reads and does on the dashboard ----------------------------------

# Who runs a reconciliation from the dashboard (Finance, migration 0013): a run adds a ReconciliationRun.
RECONCILE_PERMISSION = "transactions.add_reconciliationrun"
RECONCILE_TASK = "reconcile_nightly"


def posted_today(now: datetime | None = None) -> dict[tuple[str, str], Decimal]:
    """Today's posted (or since reversed) amount per kind and currency: the money that moved, not what
    is still pending or was refused. One range scan of today's transactions (``tx_created_idx``)."""
    now = now or timezone.now()
    rows = (
        Transaction.objects.filter(
            created_at__gte=_start_of(timezone.localdate(now)),
            created_at__lte=now,
            status__in=[Transaction.Status.POSTED, Transaction.Status.REVERSED],
        )
        .values("kind", "currency_id")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    return {(row["kind"], row["currency_id"]): row["amount"] for row in rows}


def volume_in_words(rows: list[dict], posted: dict[tuple[str, str], Decimal]) -> list[dict]:
    """``volume_today``'s rows with the kind as operators say it and the posted money beside the count."""
    labels = dict(Transaction.Kind.choices)
    return [
        {
            **row,
            "kind_label": labels.get(row["kind"], row["kind"]),
            "posted_amount": format_money(
                posted.get((row["kind"], row["currency_id"]), Decimal(0)),
                currency=row["currency_id"],
                decimals=row["currency__decimals"],
            ),
        }
        for row in rows
    ]


def reconciliation_waiting() -> bool:
    """Whether a reconciliation asked for from the dashboard waits for (or is in) the background worker."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE task_name = %s AND status IN ('todo', 'doing'))",
            [RECONCILE_TASK],
        )
        return cursor.fetchone()[0]
