"""``manage.py export_transactions``: transactions as CSV, streamed in constant memory (SPEC §9)."""

from __future__ import annotations

import os
import sys
from datetime import datetime, time, timedelta

from django.core.management.base import CommandError
from django.utils.dateparse import parse_date, parse_datetime

from transactions.csv_export import transaction_csv_rows, transactions_for_export
from walletmanager.commands import OperatorCommand
from walletmanager.csv_download import write_csv
from walletmanager.exceptions import NotFoundError
from walletmanager.instants import InstantOutOfRange, to_utc
from wallets.models import Wallet
from wallets.selectors import wallet_get_by_reference


class Command(OperatorCommand):
    help = (
        "Export transactions as CSV (oldest first) to stdout or --output. --since is inclusive; --until is "
        "exclusive for a date-time and includes the whole day for a date. Times without a zone are in TIME_ZONE."
    )

    def add_arguments(self, parser):
        parser.add_argument("--wallet", help="Only transactions from or to this wallet (id or address).")
        parser.add_argument("--since", help="Start: YYYY-MM-DD or an ISO 8601 date-time (inclusive).")
        parser.add_argument(
            "--until", help="End: YYYY-MM-DD (whole day included) or an ISO 8601 date-time (exclusive)."
        )
        parser.add_argument("--output", help="Write to this file instead of stdout.")

    def run(self, *args, **options):
        wallet = find_wallet(options["wallet"]) if options["wallet"] else None
        since = parse_bound(options["since"], "--since", end=False) if options["since"] else None
        until = parse_bound(options["until"], "--until", end=True) if options["until"] else None
        if since and until and since >= until:
            raise CommandError("--since must be before --until.")
        rows = transaction_csv_rows(transactions_for_export(wallet=wallet, since=since, until=until))

        if not options["output"]:
            try:
                write_csv(rows, self.stdout)
                self.stdout.flush()
            except BrokenPipeError:
                # The reader closed the pipe (``| head`` has its lines): stop without a traceback. Python
                # would report the pipe again when it flushes stdout at exit, so point stdout at devnull.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise SystemExit(1) from None
            return
        try:
            stream = open(options["output"], "w", newline="", encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{options['output']}: {error.strerror or error}.") from None
        with stream:
            count = write_csv(rows, stream)
        # The file holds the data; the count goes to stderr so stdout stays clean for pipes.
        self.stderr.write(f"Exported {count} transaction{'s' if count != 1 else ''} to {options['output']}.")


def find_wallet(value: str) -> Wallet:
    try:
        return wallet_get_by_reference(reference=value)
    except NotFoundError as error:
        raise CommandError(f"--wallet: {error.detail}") from None


def parse_bound(value: str, option: str, *, end: bool) -> datetime:
    """A date or date-time option to an aware datetime; a date ``--until`` means the end of that day."""
    # A bare date first: parse_datetime would read "2025-01-31" as its midnight.
    try:
        day = parse_date(value)
        moment = None if day else parse_datetime(value)
    except ValueError:  # well-formed but impossible, e.g. 2025-02-30
        moment = day = None
    if moment is None and day is None:
        raise CommandError(f"{option}: {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time.")
    if day is not None:
        moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    try:
        return to_utc(moment)
    except InstantOutOfRange:
        raise CommandError(f"{option}: {value!r} is out of range.") from None
