"""A statement as CSV (streamed, constant memory) or as PDF (fpdf2), for the API's ``?format=``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from django.utils import timezone
from fpdf import FPDF

from transactions.csv_export import CHUNK_SIZE
from transactions.statements import Statement, entry_description
from walletmanager.csv_download import number_cell
from walletmanager.money import format_amount

CSV_HEADER = ("sequence", "created_at", "transaction", "kind", "description", "amount", "balance_after", "currency")

# A PDF is built in memory (fpdf2 writes the document at the end), so it has a ceiling; the CSV has none.
PDF_MAX_ENTRIES = 5000


def statement_csv_rows(statement: Statement) -> Iterator[list[str]]:
    """The header, then one row per entry in sequence order, read through a server-side cursor.

    Written by the kernel's spreadsheet-safe writer (every field quoted, text neutralised); the amounts
    are plain numbers, so a debit stays a negative number a spreadsheet can sum."""
    decimals = statement.currency.decimals
    yield list(CSV_HEADER)
    for entry in statement.entries.iterator(chunk_size=CHUNK_SIZE):
        yield [
            number_cell(entry.sequence),
            entry.created_at.isoformat(),
            str(entry.transaction_id),
            entry.transaction.kind,
            entry_description(entry, wallet=statement.wallet),
            number_cell(format_amount(entry.amount, decimals=decimals)),
            number_cell(format_amount(entry.balance_after, decimals=decimals)),
            statement.currency.code,
        ]


def statement_filename(statement: Statement, extension: str) -> str:
    return (
        f"statement-{statement.wallet.address}-{statement.currency.code}-"
        f"{statement.date_from:%Y%m%d}-{statement.date_to:%Y%m%d}.{extension}"
    )


def statement_pdf(statement: Statement, *, entries) -> bytes:
    """The statement as an A4 PDF: its figures on top, one line per entry, the column heads repeated
    on every page. ``entries`` are the statement's entries, already read (at most PDF_MAX_ENTRIES)."""
    document = _StatementDocument(statement)
    document.add_page()
    decimals = statement.currency.decimals
    for entry in entries:
        document.entry_line(
            entry.created_at,
            entry_description(entry, wallet=statement.wallet),
            format_amount(entry.amount, decimals=decimals),
            format_amount(entry.balance_after, decimals=decimals),
        )
    document.closing_line(format_amount(statement.closing_balance, decimals=decimals))
    return bytes(document.output())


def _latin1(text: str) -> str:
    """fpdf2's core fonts (Helvetica) cover Latin-1 only, and shipping a Unicode font file for one
    arrow is not worth it: the arrow becomes "->", any other character outside Latin-1 a "?"."""
    return text.replace("→", "->").encode("latin-1", errors="replace").decode("latin-1")


class _StatementDocument(FPDF):
    COLUMNS = (("Date (UTC)", 36, "L"), ("Description", 84, "L"), ("Amount", 30, "R"), ("Balance", 30, "R"))
    LINE_HEIGHT = 5.5

    def __init__(self, statement: Statement) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.statement = statement
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(_latin1(f"Statement {statement.wallet.address} {statement.currency.code}"))
        self.set_creator("WalletManager")

    def header(self) -> None:
        statement = self.statement
        self.set_font("Helvetica", "B", 13)
        self.cell(0, 7, _latin1(f"Statement of wallet {statement.wallet.name}"), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 9)
        decimals = statement.currency.decimals
        lines = [
            f"Address {statement.wallet.address} · currency {statement.currency.code}",
            f"From {_when(statement.date_from)} to {_when(statement.date_to)} (UTC)",
        ]
        if self.page_no() == 1:
            lines.append(f"Opening balance {format_amount(statement.opening_balance, decimals=decimals)}")
        for line in lines:
            self.cell(0, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        self.set_font("Helvetica", "B", 9)
        for title, width, align in self.COLUMNS:
            self.cell(width, self.LINE_HEIGHT, title, border="B", align=align)
        self.ln(self.LINE_HEIGHT)
        self.set_font("Helvetica", "", 8.5)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 5, f"Page {self.page_no()}/{{nb}} · generated {_when(timezone.now())} UTC", align="R")

    def entry_line(self, created_at: datetime, description: str, amount: str, balance: str) -> None:
        values = (_when(created_at), self._fit(_latin1(description), self.COLUMNS[1][1]), amount, balance)
        for (_, width, align), value in zip(self.COLUMNS, values, strict=True):
            self.cell(width, self.LINE_HEIGHT, value, align=align)
        self.ln(self.LINE_HEIGHT)

    def closing_line(self, balance: str) -> None:
        self.set_font("Helvetica", "B", 9)
        label_width = sum(width for _, width, _ in self.COLUMNS[:-1])
        self.cell(label_width, self.LINE_HEIGHT + 1, "Closing balance", border="T")
        self.cell(self.COLUMNS[-1][1], self.LINE_HEIGHT + 1, balance, border="T", align="R")

    def _fit(self, text: str, width: float) -> str:
        """Cut a description to its column (with an ellipsis) rather than let it run into the amount."""
        room = width - 2
        if self.get_string_width(text) <= room:
            return text
        while text and self.get_string_width(text + "...") > room:
            text = text[:-1]
        return text + "..."


def _when(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
