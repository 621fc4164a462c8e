from decimal import Decimal

import pytest

from walletmanager.money import InvalidAmount, round_down, round_up, to_decimal, validate_amount


@pytest.mark.parametrize(
    ("raw", "decimals", "expected"),
    [
        ("10.50", 2, Decimal("10.50")),
        (Decimal("0.00000001"), 8, Decimal("0.00000001")),
        (7, 0, Decimal(7)),
        ("1000000000000000", 2, Decimal("1000000000000000")),
        (" 3 ", 2, Decimal(3)),
    ],
)
def test_valid_amounts_are_returned_unchanged(raw, decimals, expected):
    assert validate_amount(to_decimal(raw), decimals=decimals) == expected


@pytest.mark.parametrize(
    ("raw", "decimals"),
    [
        ("0", 2),
        ("-1", 2),
        ("NaN", 2),
        ("Infinity", 2),
        ("1e400", 2),
        ("1000000000000000.01", 2),
        ("1.001", 2),
        ("0.5", 0),
        ("abc", 2),
        ("", 2),
        (True, 2),
        (None, 2),
        (1.5, 2),
        ([1], 2),
        ("1" * 65, 2),
    ],
)
def test_invalid_amounts_are_refused_never_rounded(raw, decimals):
    with pytest.raises(InvalidAmount):
        validate_amount(to_decimal(raw), decimals=decimals)


def test_fees_round_up_and_exchange_results_round_down():
    assert round_up(Decimal("0.001"), decimals=2) == Decimal("0.01")
    assert round_down(Decimal("0.019"), decimals=2) == Decimal("0.01")
    assert round_up(Decimal("5"), decimals=2) == Decimal("5.00")
