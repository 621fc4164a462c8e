"""CSV that a spreadsheet opens as data, never as formulas (SPEC §13).

Every CSV the project writes (the statement download, ``export_transactions``, the admin's export)
goes through ``csv_writer``: every field is quoted, so a separator inside a description ("rent ;=1+1;"
read by a spreadsheet set to ";") cannot start a new cell, and every *text* field that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, which spreadsheets
show as text instead of evaluating.

Amounts are not text: a refund of ``-5.00`` must stay the number −5 that a spreadsheet sums. A cell
is passed through unchanged only when it is a ``Number`` (``number_cell``), which holds nothing but
an optional minus, digits and one decimal point, so no formula can hide in it. Anything else is text.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class Number(str):
    """A cell that is a plain decimal number (``-?digits[.digits]``), written as it is."""

    def __new__(cls, text: str) -> Number:
        if not _PLAIN_NUMBER.fullmatch(text):
            raise ValueError(f"{text!r} is not a plain decimal number.")
        return super().__new__(cls, text)


def number_cell(value: str | int | Decimal) -> Number:
    """A numeric cell: already formatted digits (``format_amount``'s) or an int."""
    return Number(str(value))


def text_cell(value: object) -> str:
    """A text cell as a spreadsheet will show it: a leading formula character is made inert."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def safe_row(row: Iterable[object]) -> list[str]:
    return [cell if isinstance(cell, Number) else text_cell(cell) for cell in row]


class _SafeWriter:
    def __init__(self, stream) -> None:
        self._writer = csv.writer(stream, quoting=csv.QUOTE_ALL)

    def writerow(self, row: Iterable[object]):
        return self._writer.writerow(safe_row(row))


def csv_writer(stream) -> _SafeWriter:
    """A ``csv.writer`` on ``stream`` that quotes every field and neutralises text fields."""
    return _SafeWriter(stream)


class _EchoBuffer:
    """A file-like object whose ``write`` returns what it was given, so the writer can feed a
    ``StreamingHttpResponse`` one line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Rows as CSV lines, one at a time (for a streamed download)."""
    writer = csv_writer(_EchoBuffer())
    for row in rows:
        yield writer.writerow(row)


def write_csv(rows: Iterable[Iterable[object]], stream) -> int:
    """Write rows to a text stream; return how many data rows (header excluded) were written."""
    writer = csv_writer(stream)
    written = -1
    for row in rows:
        writer.writerow(row)
        written += 1
    return max(written, 0)
