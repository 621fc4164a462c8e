"""Transactions as CSV, for ``export_transactions`` and the admin's "export selected" action.

Rows are read with a server-side cursor (``values_list(...).iterator(chunk_size=...)``) and written
one at a time, so memory stays constant however many transactions are exported. They are written by
the kernel's spreadsheet-safe writer (``walletmanager.csv_download``): every field quoted, text fields
neutralised, amounts and rates as plain numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Q, QuerySet

from balances.models import Currency
from transactions.models import Transaction
from walletmanager.csv_download import Number, number_cell
from walletmanager.money import format_amount, format_number
from wallets.models import Wallet

EXPORT_HEADER = (
    "id",
    "created_at",
    "posted_at",
    "kind",
    "status",
    "wallet",
    "to_wallet",
    "currency",
    "amount",
    "fee",
    "to_currency",
    "to_amount",
    "rate",
    "description",
)
_FIELDS = (
    "id",
    "created_at",
    "posted_at",
    "kind",
    "status",
    "wallet_id",
    "to_wallet_id",
    "currency_id",
    "amount",
    "fee",
    "to_currency_id",
    "to_amount",
    "rate",
    "description",
)
CHUNK_SIZE = 2000


def transactions_for_export(
    *, wallet: Wallet | None = None, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Transaction]:
    """Transactions touching ``wallet`` (as source or destination) created in [since, until), oldest first."""
    queryset = Transaction.objects.all()
    if wallet is not None:
        queryset = queryset.filter(Q(wallet=wallet) | Q(to_wallet=wallet))
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if until is not None:
        queryset = queryset.filter(created_at__lt=until)
    return queryset.order_by("created_at", "id")


def transaction_csv_rows(queryset: QuerySet[Transaction]) -> Iterator[list[str | Number]]:
    """The header, then one row per transaction, streamed from a server-side cursor."""
    decimals = dict(Currency.objects.values_list("code", "decimals"))
    yield list(EXPORT_HEADER)
    for row in queryset.values_list(*_FIELDS).iterator(chunk_size=CHUNK_SIZE):
        (
            id_,
            created_at,
            posted_at,
            kind,
            status,
            wallet_id,
            to_wallet_id,
            currency,
            amount,
            fee,
            to_currency,
            to_amount,
            rate,
            description,
        ) = row
        yield [
            str(id_),
            created_at.isoformat(),
            posted_at.isoformat() if posted_at else "",
            kind,
            status,
            str(wallet_id),
            str(to_wallet_id) if to_wallet_id else "",
            currency,
            number_cell(format_amount(amount, decimals=decimals.get(currency, 18))),
            number_cell(format_amount(fee, decimals=decimals.get(currency, 18))),
            to_currency or "",
            number_cell(format_amount(to_amount, decimals=decimals.get(to_currency, 18)))
            if to_amount is not None
            else "",
            number_cell(format_number(rate)) if rate is not None else "",
            description,
        ]
