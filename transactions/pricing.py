"""What prices money: fees, exchange rates and the rule that no pair of rates in force can be
arbitraged (SPEC §5, §14)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.db import transaction as db_transaction
from django.utils import timezone

from balances.models import Currency
from transactions import ledger, rate_cycles, reference_data, signals
from transactions.exceptions import RateUnavailable
from transactions.models import ExchangeRate, FeeRule
from walletmanager.actors import require_permission
from walletmanager.audit import audit_state, save_audited, set_fields
from walletmanager.exceptions import ValidationFailed
from walletmanager.money import (
    AMOUNT_DECIMAL_PLACES,
    AMOUNT_MAX_DIGITS,
    InvalidAmount,
    format_number,
    fractional_digits,
    round_down,
    round_up,
    to_decimal,
)

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

RATE_PERMISSION = "transactions.add_exchangerate"
# pg_advisory_xact_lock key serialising rate changes (any constant of our own; "rates" in ASCII).
RATE_CHANGE_LOCK = 0x7261746573
FEE_RULE_ADD_PERMISSION = "transactions.add_feerule"
FEE_RULE_CHANGE_PERMISSION = "transactions.change_feerule"
# A rate is stored as NUMERIC(38, 18): at most 20 digits before the point.
RATE_MAX_INTEGER_DIGITS = AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES
SOURCE_MAX_LENGTH = ExchangeRate._meta.get_field("source").max_length
CHARGEABLE_KINDS = ("deposit", "withdrawal", "transfer", "exchange")
FEE_RULE_FIELDS = ("kind", "currency", "percent_bps", "flat", "min_fee", "max_fee", "is_active")
_NOT_AUDITED = ("id", "created_at", "updated_at")


@dataclass(frozen=True)
class RateQuote:
    """One rate as an operator or a file states it: 1 ``base`` = ``rate`` ``quote``. ``rate`` is text
    or a Decimal; the service parses and judges it."""

    base: str
    quote: str
    rate: Any
    source: str = ""


class RatesRefused(ValidationFailed):
    """Rates that cannot be set, each named: ``problems`` lists ``(index, field, detail)`` in the
    order given, so a caller can point at the line or field of every one."""

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        _, field, detail = problems[0]
        super().__init__(detail, field=field)
        self.problems = problems


def _rate_problem(quote: RateQuote, *, currencies: set[str]) -> tuple[str, str] | None:
    """What is wrong with one rate on its own, as ``(field, detail)``; None when nothing is."""
    for field, code in (("base", quote.base), ("quote", quote.quote)):
        if code not in currencies:
            return field, f"unknown currency {code or '(empty)'}"
    if quote.base == quote.quote:
        return "quote", f"base and quote are both {quote.base}"
    shown = str(quote.rate).strip()
    try:
        rate = to_decimal(quote.rate)
    except InvalidAmount:
        return "rate", f"rate {shown!r} is not a number"
    if not rate.is_finite() or rate <= 0:
        return "rate", f"rate {shown!r} must be a positive finite number"
    if fractional_digits(rate) > AMOUNT_DECIMAL_PLACES:
        return "rate", f"rate {shown!r} has more than {AMOUNT_DECIMAL_PLACES} decimal places"
    if rate.adjusted() >= RATE_MAX_INTEGER_DIGITS:
        return "rate", f"rate {shown!r} is too large"
    if len(quote.source) > SOURCE_MAX_LENGTH:
        return "source", f"source is longer than {SOURCE_MAX_LENGTH} characters"
    return None


def _fields(row) -> dict[str, str | None]:
    return audit_state(row, exclude=_NOT_AUDITED)


def _refuse_gaining_cycles(new: Sequence[ExchangeRate]) -> None:
    """Refuse the batch when, with it in force, a loop through two, three or more currencies gains
    (``rate_cycles``); the line blamed is the newest rate of the batch on that loop."""
    in_force = rate_cycles.rates_in_force()
    batch = [
        rate_cycles.PairRate(base=rate.base_id, quote=rate.quote_id, rate=rate.rate, line=index)
        for index, rate in enumerate(new)
    ]
    cycle = rate_cycles.gaining_cycle(rate_cycles.with_new_rates(in_force, batch))
    if cycle is None:
        return
    if cycle.lines:
        blamed = new[cycle.lines[-1]]
        detail = (
            f"{blamed.base_id}/{blamed.quote_id} {format_number(blamed.rate)} would let money gain in a loop "
            f"through the rates in force: {cycle.described()}. Set rates that agree with each other."
        )
        raise RatesRefused([(cycle.lines[-1], "rate", detail)])
    raise RatesRefused(
        [
            (
                len(new) - 1,
                "rate",
                f"The rates in force already gain in a loop: {cycle.described()}. "
                "Set a rate on that loop that closes it.",
            )
        ]
    )


def exchange_rate_set(*, actor: Any, rates: Sequence[RateQuote]) -> list[ExchangeRate]:
    """Put rates in force (the admin one at a time, ``load_rates`` a whole file), all or nothing:
    known and distinct currencies, a positive rate that fits NUMERIC(38, 18), no round trip through
    the newest opposite rate that would gain, and no loop through the newest rates of two, three or
    more currencies that would gain (``rate_cycles``). One ``exchange_rate.created`` audit event
    each. Rates are never edited: a newer row supersedes an older one."""
    require_permission(actor, RATE_PERMISSION, detail="Only staff may set exchange rates.")
    if not rates:
        raise ValidationFailed("No rates given.", field="rate")
    codes = {code for quote in rates for code in (quote.base, quote.quote)}
    currencies = set(Currency.objects.filter(code__in=codes).values_list("code", flat=True))
    problems = [
        (index, *problem)
        for index, quote in enumerate(rates)
        if (problem := _rate_problem(quote, currencies=currencies)) is not None
    ]
    if problems:
        raise RatesRefused(problems)
    new = [
        ExchangeRate(base_id=quote.base, quote_id=quote.quote, rate=to_decimal(quote.rate), source=quote.source)
        for quote in rates
    ]
    with db_transaction.atomic():
        # One rate change at a time: two operators' rates, each fine alone, must not close a loop together.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RATE_CHANGE_LOCK])
        exchange_rates_check((rate.base_id, rate.quote_id, rate.rate) for rate in new)
        _refuse_gaining_cycles(new)
        created = ExchangeRate.objects.bulk_create(new)
        for rate in created:
            signals.exchange_rate_created.send(
                sender=ExchangeRate, instance=rate, actor=actor, data={"after": _fields(rate)}
            )
    return created


def _check_fee_rule(rule: FeeRule) -> None:
    """A fee rule's own rules: a chargeable kind, no negative amount, none finer than its currency,
    at most 100 %, a maximum not below the minimum, one active rule per kind and currency."""
    if rule.kind not in CHARGEABLE_KINDS:
        raise ValidationFailed(f"Choose one of: {', '.join(CHARGEABLE_KINDS)}.", field="kind")
    currency = rule.currency
    decimals = currency.decimals if currency is not None else AMOUNT_DECIMAL_PLACES
    for name in ("flat", "min_fee", "max_fee"):
        value = getattr(rule, name)
        if value is None:
            continue
        if value < 0:
            raise ValidationFailed("Must not be negative.", field=name)
        if fractional_digits(value) > decimals:
            raise ValidationFailed(f"At most {decimals} decimal places for {currency or 'this currency'}.", field=name)
    if rule.percent_bps is not None and rule.percent_bps > 10_000:
        raise ValidationFailed("At most 10 000 basis points (100 %).", field="percent_bps")
    if rule.max_fee is not None and rule.min_fee is not None and rule.max_fee < rule.min_fee:
        raise ValidationFailed("The maximum must not be below the minimum.", field="max_fee")
    try:
        rule.full_clean()
    except DjangoValidationError as error:
        raise ValidationFailed.from_django(error) from None


def _save_fee_rule(rule: FeeRule, *, actor: Any) -> FeeRule:
    _check_fee_rule(rule)
    with db_transaction.atomic():
        save_audited(
            rule, actor=actor, created=signals.fee_rule_created, changed=signals.fee_rule_changed, exclude=_NOT_AUDITED
        )
    return rule


def fee_rule_create(*, actor: Any, **fields: Any) -> FeeRule:
    """Add a fee rule (``add_feerule``) with ``FEE_RULE_FIELDS`` (a ``kind``, a ``currency`` or None
    for any, the rest as the model's defaults unless given), checked by ``_check_fee_rule``: one
    ``fee_rule.created`` audit event with its fields."""
    require_permission(actor, FEE_RULE_ADD_PERMISSION, detail="Only staff may set fees.")
    return _save_fee_rule(set_fields(FeeRule(), fields, editable=FEE_RULE_FIELDS), actor=actor)


def fee_rule_update(*, actor: Any, rule: FeeRule, **changes: Any) -> FeeRule:
    """Change a fee rule's ``FEE_RULE_FIELDS`` (``change_feerule``), checked as a new one is: one
    ``fee_rule.changed`` audit event with the fields before and after; no change, no event.
    Deactivate a rule rather than delete it: it explains the fees already charged."""
    require_permission(actor, FEE_RULE_CHANGE_PERMISSION, detail="Only staff may set fees.")
    rule = FeeRule.objects.select_related("currency").get(pk=rule.pk)
    set_fields(rule, changes, editable=FEE_RULE_FIELDS)
    return _save_fee_rule(rule, actor=actor)
