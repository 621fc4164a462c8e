"""``manage.py load_rates PATH``: load exchange rates from a CSV file, all or nothing (SPEC §9). The
command reads the lines; ``exchange_rate_set`` judges every rate (and names the bad ones)."""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import CommandError

from transactions.pricing import SOURCE_MAX_LENGTH, RateQuote, RatesRefused, exchange_rate_set
from walletmanager.commands import OperatorCommand
from walletmanager.exceptions import ValidationFailed

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

        quotes: list[RateQuote] = []
        line_numbers: list[int] = []
        errors: list[str] = []
        for line_number, fields in enumerate(csv.reader(text.splitlines()), start=1):
            if not fields or all(not value.strip() for value in fields):
                continue
            if line_number == 1 and fields[0].strip().lower() == "base":
                continue
            if len(fields) not in (3, 4):
                errors.append(f"line {line_number}: expected 'base,quote,rate[,source]', got {len(fields)} fields")
                continue
            base, quote, rate = (value.strip() for value in fields[:3])
            source = fields[3].strip() if len(fields) == 4 else ""
            quotes.append(RateQuote(base=base.upper(), quote=quote.upper(), rate=rate, source=source or default_source))
            line_numbers.append(line_number)

        if not errors and not quotes:
            raise CommandError(f"{path}: no rates in the file, nothing loaded.")
        if not errors:
            try:
                exchange_rate_set(actor=self.get_actor(), rates=quotes)
            except RatesRefused as refused:
                errors = [f"line {line_numbers[index]}: {detail}" for index, _, detail in refused.problems]
            except ValidationFailed as error:
                raise CommandError(f"{path}: nothing loaded. {error.detail}") from None
        if errors:
            shown = "; ".join(errors[:MAX_REPORTED_ERRORS])
            more = (
                f" (and {len(errors) - MAX_REPORTED_ERRORS} more bad lines)"
                if len(errors) > MAX_REPORTED_ERRORS
                else ""
            )
            raise CommandError(f"{path}: nothing loaded. {shown}{more}")
        self.stdout.write(f"Loaded {len(quotes)} exchange rate{'s' if len(quotes) != 1 else ''} from {path}.")
