"""Money helpers: every amount is a Decimal with an explicit currency, never a float (SPEC §2)."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Context, Decimal, InvalidOperation, localcontext

# NUMERIC(38, 18): 20 integer digits and 18 fractional ones.
AMOUNT_MAX_DIGITS = 38
AMOUNT_DECIMAL_PLACES = 18
MAX_AMOUNT = Decimal("1000000000000000")  # 10^15, the largest amount any input may carry


class InvalidAmount(ValueError):
    """An input amount that is not a finite, positive, in-range Decimal with few enough decimals."""


def to_decimal(value: object) -> Decimal:
    """Parse a JSON string or number to Decimal without ever passing through float."""
    if isinstance(value, bool) or value is None:
        raise InvalidAmount("A valid number is required.")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # JSON numbers reach us as Decimal (see walletmanager.api.parsers); a float here would
        # already have lost precision, so refuse it rather than guess.
        raise InvalidAmount("Amounts must be sent as strings or exact JSON numbers.")
    if not isinstance(value, str):
        raise InvalidAmount("A valid number is required.")
    text = value.strip()
    if not text or len(text) > 64:
        raise InvalidAmount("A valid number is required.")
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise InvalidAmount("A valid number is required.") from error


def fractional_digits(amount: Decimal) -> int:
    """How many fractional digits ``amount`` really has (trailing zeros do not count), exactly, for
    any number of digits: ``normalize()`` would first round to the context's 28 digits and let
    10000000000.000000000000000001 pass as a whole number."""
    sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0 or not any(digits):
        return 0
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing_zeros)


def validate_amount(amount: Decimal, *, decimals: int) -> Decimal:
    """Check an input amount against SPEC §2; it is returned unchanged, never rounded."""
    if not amount.is_finite():
        raise InvalidAmount("Amount must be a finite number.")
    if amount <= 0:
        raise InvalidAmount("Amount must be greater than zero.")
    if amount > MAX_AMOUNT:
        raise InvalidAmount(f"Amount must not exceed {MAX_AMOUNT}.")
    if fractional_digits(amount) > decimals:
        raise InvalidAmount(f"Amount may have at most {decimals} decimal places for this currency.")
    return amount


def quantum(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


def round_up(amount: Decimal, *, decimals: int) -> Decimal:
    """Round a computed amount owed to the house (fees) up to the currency's precision."""
    return amount.quantize(quantum(decimals), rounding=ROUND_UP)


def round_down(amount: Decimal, *, decimals: int) -> Decimal:
    """Round a computed amount paid by the house (exchange results) down to the currency's precision."""
    return amount.quantize(quantum(decimals), rounding=ROUND_DOWN)


# Every conversion below runs with enough precision for any NUMERIC(38, 18) value: Python's default
# 28-digit context would round a 38-digit amount (or raise InvalidOperation when quantizing it).
_EXACT = Context(prec=2 * AMOUNT_MAX_DIGITS)


def format_amount(amount: Decimal, *, decimals: int) -> str:
    """An amount as the API, CSV and JSON carry it: plain digits at exactly the currency's number of
    decimals, never an exponent ("0.00000000", not "0E-8"), never "-0.00", exact for any
    NUMERIC(38, 18) value."""
    with localcontext(_EXACT):
        return format(amount.quantize(quantum(decimals)) + 0, "f")  # + 0 turns -0 into 0


def format_money(amount: Decimal, *, currency: str, decimals: int, trim_zeros: bool = True) -> str:
    """An amount as a person reads it (admin pages, command output, messages): at most the currency's
    decimals, thousands separators and the code beside it ("10,500.00 USD", "-0.25 BTC").

    The trailing zeros past the second decimal are dropped ("1.50 ETH", not 1.5 and seventeen zeros;
    "0.00000001 BTC" keeps its digits): the value is exact, only the storage scale goes. ``trim_zeros``
    False shows every decimal of the currency ("0.50000000 BTC"). The API never uses this: its strings
    are ``format_amount``'s."""
    with localcontext(_EXACT):
        exact = amount.quantize(quantum(decimals)) + 0
        if trim_zeros:
            shown = max(fractional_digits(exact), min(decimals, 2))
            exact = exact.quantize(quantum(shown))
        return f"{exact:,f} {currency}"


def format_number(value: Decimal, *, grouped: bool = False) -> str:
    """A decimal that has no currency of its own (a rate, a value in the audit trail): its exact
    digits, without an exponent or the storage scale's trailing zeros ("350", "0.25", "1.0825");
    ``grouped`` adds thousands separators for a person ("1,000.5")."""
    with localcontext(_EXACT):
        if not value.is_finite():
            return str(value)
        return format(value.normalize() + 0, ",f" if grouped else "f")
