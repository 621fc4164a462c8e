"""``manage.py load_rates PATH``: load exchange rates from a CSV file, all or nothing (SPEC §9)."""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import CommandError

from balances.models import Currency
from transactions.models import ExchangeRate
from transactions.pricing import exchange_rates_check, exchange_rates_record
from walletmanager.commands import OperatorCommand
from walletmanager.exceptions import ValidationFailed
from walletmanager.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, fractional_digits

SOURCE_MAX_LENGTH = ExchangeRate._meta.get_field("source").max_length
MAX_INTEGER_DIGITS = AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES
# Stop listing after this many bad lines: one line of output must stay readable.
MAX_REPORTED_ERRORS = 5


class Command(OperatorCommand):
    help = (
        "Load exchange rates from a CSV file with lines 'base,quote,rate[,source]' (an optional header "
        "line 'base,quote,rate,source' is skipped). 1 base = rate quote. Every line is checked first; "
        "one bad line loads nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file to load.")
        parser.add_argument(
            "--source", default="", help="Source recorded for lines without one (default: the file name)."
        )

    def run(self, *args, **options):
        path = Path(options["path"])
        default_source = (options["source"] or f"file:{path.name}")[:SOURCE_MAX_LENGTH]
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file.") from None
        except IsADirectoryError:
            raise CommandError(f"{path}: is a directory, not a CSV file.") from None
        except PermissionError:
            raise CommandError(f"{path}: permission denied.") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not a UTF-8 text file.") from None

        currencies = set(Currency.objects.values_list("code", flat=True))
        rates: list[ExchangeRate] = []
        errors: list[str] = []
        for line_number, fields in enumerate(csv.reader(text.splitlines()), start=1):
            if not fields or all(not value.strip() for value in fields):
                continue
            if line_number == 1 and fields[0].strip().lower() == "base":
                continue
            try:
                rates.append(parse_rate_line(fields, currencies=currencies, default_source=default_source))
            except ValueError as error:
                errors.append(f"line {line_number}: {error}")

        if errors:
            shown = "; ".join(errors[:MAX_REPORTED_ERRORS])
            more = (
                f" (and {len(errors) - MAX_REPORTED_ERRORS} more bad lines)"
                if len(errors) > MAX_REPORTED_ERRORS
                else ""
            )
            raise CommandError(f"{path}: nothing loaded. {shown}{more}")
        if not rates:
            raise CommandError(f"{path}: no rates in the file, nothing loaded.")

        try:
            exchange_rates_check((rate.base_id, rate.quote_id, rate.rate) for rate in rates)
        except ValidationFailed as error:
            raise CommandError(f"{path}: nothing loaded. {error.detail}") from None
        exchange_rates_record(actor=self.get_actor(), rates=rates)
        self.stdout.write(f"Loaded {len(rates)} exchange rate{'s' if len(rates) != 1 else ''} from {path}.")


def parse_rate_line(fields: list[str], *, currencies: set[str], default_source: str) -> ExchangeRate:
    """One CSV line to an unsaved ExchangeRate; ValueError says what is wrong with it."""
    if len(fields) not in (3, 4):
        raise ValueError(f"expected 'base,quote,rate[,source]', got {len(fields)} fields")
    base, quote, rate_text = (
        value.strip().upper() if index < 2 else value.strip() for index, value in enumerate(fields[:3])
    )
    source = fields[3].strip() if len(fields) == 4 else ""
    for code in (base, quote):
        if code not in currencies:
            raise ValueError(f"unknown currency {code or '(empty)'}")
    if base == quote:
        raise ValueError(f"base and quote are both {base}")
    try:
        rate = Decimal(rate_text)
    except InvalidOperation:
        raise ValueError(f"rate {rate_text!r} is not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"rate {rate_text!r} must be a positive finite number")
    if fractional_digits(rate) > AMOUNT_DECIMAL_PLACES:
        raise ValueError(f"rate {rate_text!r} has more than {AMOUNT_DECIMAL_PLACES} decimal places")
    if rate.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"rate {rate_text!r} is too large")
    if len(source) > SOURCE_MAX_LENGTH:
        raise ValueError(f"source is longer than {SOURCE_MAX_LENGTH} characters")
    return ExchangeRate(base_id=base, quote_id=quote, rate=rate, source=source or default_source)
