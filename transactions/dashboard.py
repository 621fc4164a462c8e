"""What the admin index tells operators at a glance (SPEC §8): liabilities, pending approvals,
today's volume, reconciliation status and 30 days of activity. Every figure is one aggregate query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from balances.models import BalanceAsset, Currency
from transactions.models import ReconciliationRun, Transaction
from walletmanager.money import quantum

CHART_DAYS = 30


@dataclass(frozen=True)
class DailyBar:
    day: date
    count: int
    x: int
    y: int
    height: int


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
            "posted": row["posted"].quantize(quantum(decimals.get(row["currency_id"], 2))),
            "held": row["held"].quantize(quantum(decimals.get(row["currency_id"], 2))),
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


def volume_today(now: datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    start = timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
    return list(
        Transaction.objects.filter(created_at__gte=start, created_at__lte=now)
        .values("kind", "currency_id")
        .annotate(
            count=Count("id"),
            amount=Sum("amount"),
            posted=Count("id", filter=Q(status__in=[Transaction.Status.POSTED, Transaction.Status.REVERSED])),
        )
        .order_by("kind", "currency_id")
    )


def daily_activity(now: datetime | None = None, *, width: int = 600, height: int = 120) -> list[DailyBar]:
    """Transactions per day over the last 30 days, laid out as the bars of an SVG chart."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first_day = today - timedelta(days=CHART_DAYS - 1)
    start = timezone.make_aware(datetime.combine(first_day, time.min))
    counts = dict(
        Transaction.objects.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("id"))
        .values_list("day", "count")
    )
    peak = max(counts.values(), default=0) or 1
    slot = width // CHART_DAYS
    bars = []
    for index in range(CHART_DAYS):
        day = first_day + timedelta(days=index)
        count = counts.get(day, 0)
        bar_height = round(count / peak * (height - 20))
        bars.append(DailyBar(day=day, count=count, x=index * slot, y=height - bar_height, height=bar_height))
    return bars


def last_reconciliation() -> ReconciliationRun | None:
    return ReconciliationRun.objects.order_by("-started_at").first()
