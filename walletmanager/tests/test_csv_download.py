"""The kernel's spreadsheet-safe CSV writer (SPEC §13)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from walletmanager.csv_download import Number, csv_lines, number_cell, write_csv


@pytest.mark.parametrize("leading", ["=", "+", "-", "@", "\t", "\r"])
def test_a_text_field_starting_with_a_formula_character_is_made_inert(leading):
    (line,) = csv_lines([[f"{leading}1+1", "ok"]])

    assert line == f'"\'{leading}1+1","ok"\r\n'


def test_numbers_stay_numbers_and_only_plain_numbers_are_numbers():
    stream = io.StringIO()

    assert write_csv([["amount"], [number_cell("-20.00"), number_cell(3), "-20.00"]], stream) == 1

    assert stream.getvalue() == '"amount"\r\n"-20.00","3","\'-20.00"\r\n'
    for not_a_number in ("=1", "-1e5", "1,0", " 1", "-", "1.", "--1", "1\n"):
        with pytest.raises(ValueError):
            Number(not_a_number)


@given(st.text())
def test_no_text_field_ever_starts_a_formula(text):
    (line,) = csv_lines([[text]])

    assert line.startswith('"') and not line[1:].startswith(("=", "+", "-", "@", "\t", "\r"))
