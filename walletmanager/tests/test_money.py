from decimal import ROUND_DOWN, Decimal, localcontext

import pytest

from walletmanager.money import (
    InvalidAmount,
    format_amount,
    format_money,
    format_number,
    round_down,
    round_up,
    to_decimal,
    validate_amount,
)


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


# --- one formatter: the API's plain strings and the operator's money ------------------------------

LARGEST = Decimal("99999999999999999999.999999999999999999")  # NUMERIC(38, 18) full: 38 digits


@pytest.mark.django_db
def test_every_seeded_currency_formats_zero_and_38_digit_amounts_without_an_exponent():
    from balances.models import Currency

    currencies = dict(Currency.objects.values_list("code", "decimals"))
    assert currencies == {"USD": 2, "EUR": 2, "GBP": 2, "BTC": 8, "ETH": 18, "USDT": 6, "TON": 9}
    for code, decimals in currencies.items():
        fraction = "." + "0" * decimals if decimals else ""
        for zero in (Decimal(0), Decimal("0E-18"), Decimal("-0.000000000000000000")):
            assert format_amount(zero, decimals=decimals) == "0" + fraction
            assert format_money(zero, currency=code, decimals=decimals, trim_zeros=False) == f"0{fraction} {code}"
            assert format_money(zero, currency=code, decimals=decimals) == f"0{fraction[:3]} {code}"
        with localcontext(prec=60):
            stored = LARGEST.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)
        digits = "9" * decimals
        assert format_amount(stored, decimals=decimals) == "99999999999999999999" + ("." + digits if decimals else "")
        assert format_money(stored, currency=code, decimals=decimals) == (
            "99,999,999,999,999,999,999" + ("." + digits if decimals else "") + f" {code}"
        )
        assert format_money(stored.copy_negate(), currency=code, decimals=decimals).startswith(
            "-99,999,999,999,999,999,999"
        )


@pytest.mark.parametrize(
    ("amount", "currency", "decimals", "api", "admin"),
    [
        ("10500.000000000000000000", "USD", 2, "10500.00", "10,500.00 USD"),
        ("0.000000000000000000", "TON", 9, "0.000000000", "0.00 TON"),
        ("1234567.5", "BTC", 8, "1234567.50000000", "1,234,567.50 BTC"),
        ("1.500000000000000000", "ETH", 18, "1.500000000000000000", "1.50 ETH"),
        ("0.000000000000000001", "ETH", 18, "0.000000000000000001", "0.000000000000000001 ETH"),
        ("-0.00000001", "BTC", 8, "-0.00000001", "-0.00000001 BTC"),
        ("-250.5", "EUR", 2, "-250.50", "-250.50 EUR"),
        ("1E+3", "ETH", 0, "1000", "1,000 ETH"),
    ],
)
def test_amounts_read_as_plain_strings_in_the_api_and_as_money_for_people(amount, currency, decimals, api, admin):
    assert format_amount(Decimal(amount), decimals=decimals) == api
    assert format_money(Decimal(amount), currency=currency, decimals=decimals) == admin


def test_people_may_see_every_decimal_of_the_currency_and_numbers_grouped():
    assert format_money(Decimal("0.5"), currency="BTC", decimals=8, trim_zeros=False) == "0.50000000 BTC"
    assert format_number(Decimal("1234.500"), grouped=True) == "1,234.5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("350.000000000000000000", "350"),
        ("0.250000000000000000", "0.25"),
        ("0E-18", "0"),
        ("1E+3", "1000"),
        (str(LARGEST), str(LARGEST)),  # 38 digits survive: no rounding to Python's default 28
    ],
)
def test_numbers_without_a_currency_keep_their_exact_digits_and_drop_the_storage_scale(value, expected):
    assert format_number(Decimal(value)) == expected
