"""How a reversal reads (SPEC §8, §12): the amount that moved, and the transaction it undid by short id.

A reversal carries its original's ``amount`` and ``fee`` (``transaction_reverse`` copies them), but a
deposit posts the amount *received*, which may differ from the amount asked for: a deposit of 40.00
that brought 39.50 is undone by entries of 39.50, and its reversal must not read 40.00. Every place
that shows a reversal — the API, the admin, statement lines — takes its amount from ``amount_moved``.
Lists annotate the original's received amount (``with_amounts_moved``: one join, no query per row).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F, QuerySet

from transactions.models import Transaction
from walletmanager.money import format_money

SHORT_ID_LENGTH = 8
_ANNOTATION = "reversed_received_amount"
_MISSING = object()


def with_amounts_moved(queryset: QuerySet[Transaction]) -> QuerySet[Transaction]:
    """``queryset`` with what each reversal's original actually received (null for other rows)."""
    return queryset.annotate(**{_ANNOTATION: F("reverses__received_amount")})


def amount_moved(transaction: Transaction) -> Decimal:
    """A transaction's ``amount``; for a reversal of a deposit, the amount its original received."""
    if transaction.reverses_id is None:
        return transaction.amount
    received = getattr(transaction, _ANNOTATION, _MISSING)
    if received is _MISSING:
        received = transaction.reverses.received_amount  # one object (not a list): cached or one query
    return received if received is not None else transaction.amount


def short_id(value: object) -> str:
    return str(value)[:SHORT_ID_LENGTH]


def reversal_description(transaction: Transaction) -> str:
    """ "Reversal of 1a2b3c4d": the transaction undone, by the short id operators and clients quote."""
    return f"Reversal of {short_id(transaction.reverses_id)}"


def description_shown(transaction: Transaction) -> str:
    """A transaction's description as shown; a reversal's stored one names the full UUID."""
    if transaction.reverses_id is not None:
        return reversal_description(transaction)
    return str(transaction.description)


def amount_posted(transaction: Transaction) -> Decimal:
    """What a transaction moved: a posted deposit's amount received, a reversal's ``amount_moved``,
    otherwise its ``amount``."""
    if transaction.kind == Transaction.Kind.DEPOSIT and transaction.received_amount is not None:
        return transaction.received_amount
    return amount_moved(transaction)


def in_words(transaction: Transaction) -> str:
    """ "deposit 1a2b3c4d of 39.50 USD": the kind, the short id and the amount that moved."""
    amount = format_money(
        amount_posted(transaction), currency=transaction.currency_id, decimals=transaction.currency.decimals
    )
    return f"{transaction.get_kind_display().lower()} {short_id(transaction.pk)} of {amount}"
