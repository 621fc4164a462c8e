"""What prices money: fees, exchange rates and the rule that no pair of rates in force can be
arbitraged (SPEC §5, §14)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db import transaction as db_transaction
from django.utils import timezone

from balances.models import Currency
from transactions import ledger, reference_data, signals
from transactions.exceptions import RateUnavailable
from transactions.models import ExchangeRate, FeeRule
from walletmanager.actors import require_staff
from walletmanager.audit import audit_state, save_audited
from walletmanager.exceptions import ValidationFailed
from walletmanager.money import format_number, round_down, round_up

RATE_DECIMALS = 18


def fee_for(*, kind: str, currency: Currency, amount: Decimal) -> Decimal:
    """clamp(amount × bps / 10 000 + flat, min, max) rounded up to the currency's decimals; the
    active rule for the currency wins over the any-currency one; no rule, no fee."""
    rule = reference_data.fee_terms(kind=kind, currency_code=currency.code)
    if rule is None:
        return Decimal(0)
    with ledger.money_context():
        fee = amount * rule.percent_bps / Decimal(10000) + rule.flat
        fee = max(fee, rule.min_fee)
        if rule.max_fee is not None:
            fee = min(fee, rule.max_fee)
        return round_up(fee, decimals=currency.decimals)


def _newest_rate_row(*, base: str, quote: str, now: datetime | None = None) -> tuple[Decimal, bool] | None:
    """(rate, direct) of the newest fresh row of either direction of the pair, or None."""
    cutoff = (now or timezone.now()) - settings.EXCHANGE_RATE_MAX_AGE
    # One query for both directions (hot path: plain SQL). The newest row wins whichever way it is
    # quoted: an older direct row next to a newer inverse one would price the two directions
    # differently, and the difference could be taken from the fx wallet, round after round.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rate, base_id = %s AS direct FROM {ExchangeRate._meta.db_table} "
            "WHERE created_at >= %s AND ((base_id = %s AND quote_id = %s) OR (base_id = %s AND quote_id = %s)) "
            "ORDER BY created_at DESC, id DESC LIMIT 1",
            [base, cutoff, base, quote, quote, base],
        )
        return cursor.fetchone()


def rate_for(*, base: Currency, quote: Currency, now: datetime | None = None) -> Decimal:
    """How many ``quote`` one ``base`` buys: the newest fresh row of the pair in either direction;
    an inverse row counts as 1 / its rate, rounded down to 18 places (in the house's favour)."""
    row = _newest_rate_row(base=base.code, quote=quote.code, now=now)
    if row is not None and row[1]:
        return row[0]
    if row is not None:
        with ledger.money_context():
            rate = round_down(Decimal(1) / row[0], decimals=RATE_DECIMALS)
        if rate > 0:
            return rate
    raise RateUnavailable(
        f"No exchange rate for {base.code}/{quote.code} in the last {settings.EXCHANGE_RATE_MAX_AGE}."
    )


def _newest_fresh_rate(*, base: str, quote: str) -> Decimal | None:
    """The newest fresh ``base``/``quote`` row's rate, as quoted (no inversion), or None."""
    cutoff = timezone.now() - settings.EXCHANGE_RATE_MAX_AGE
    return (
        ExchangeRate.objects.filter(base_id=base, quote_id=quote, created_at__gte=cutoff)
        .order_by("-created_at", "-id")
        .values_list("rate", flat=True)
        .first()
    )


def exchange_rates_check(rates: Iterable[tuple[str, str, Decimal]]) -> None:
    """Refuse a new rate whose round trip through the newest opposite rate in force would gain:
    1 base → rate quote → rate × opposite base must not exceed 1. Rates later in ``rates`` are
    newer than earlier ones and than every stored row. ``ValidationFailed`` names the pair."""
    newest: dict[tuple[str, str], Decimal] = {}
    with ledger.money_context():
        for base, quote, rate in rates:
            opposite = newest.get((quote, base))
            if opposite is None:
                opposite = _newest_fresh_rate(base=quote, quote=base)
            if opposite is not None and rate * opposite > 1:
                raise ValidationFailed(
                    f"1 {base} = {rate} {quote} against the newest {quote}/{base} rate {format_number(opposite)} "
                    f"in force would turn 1 {base} into {format_number(rate * opposite)} {base} and back: "
                    "load both directions consistently (or only one).",
                    field="rate",
                )
            newest[(base, quote)] = rate


# --- writes: rates and fee rules (SPEC §13: through services, audited) ------------------------------


_NOT_AUDITED = ("id", "created_at", "updated_at")


def _fields(row) -> dict[str, str | None]:
    return audit_state(row, exclude=_NOT_AUDITED)


def exchange_rates_record(*, actor: Any, rates: Sequence[ExchangeRate]) -> list[ExchangeRate]:
    """Add exchange rates (the admin one at a time, ``load_rates`` a whole file): all or nothing,
    none whose round trip through the newest opposite rate would gain; one ``exchange_rate.created``
    audit event each. Rates are never edited: a newer row supersedes an older one."""
    require_staff(actor, detail="Only staff may set exchange rates.")
    exchange_rates_check((rate.base_id, rate.quote_id, rate.rate) for rate in rates)
    with db_transaction.atomic():
        created = ExchangeRate.objects.bulk_create(rates)
        for rate in created:
            signals.exchange_rate_created.send(
                sender=ExchangeRate, instance=rate, actor=actor, data={"after": _fields(rate)}
            )
    return created


def fee_rule_save(*, actor: Any, rule: FeeRule) -> FeeRule:
    """Create a fee rule or save an operator's edit of one (the admin's form has checked it): one
    ``fee_rule.created`` or ``fee_rule.changed`` audit event with before/after; no change, no event."""
    require_staff(actor, detail="Only staff may set fees.")
    with db_transaction.atomic():
        save_audited(
            rule, actor=actor, created=signals.fee_rule_created, changed=signals.fee_rule_changed, exclude=_NOT_AUDITED
        )
    return rule
