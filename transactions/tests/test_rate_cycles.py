"""No loop through the newest exchange rates may gain (SPEC §12, §14): a rate that would let money
go round two, three or more currencies and come back larger is refused, by ``load_rates`` and the
admin alike, and nothing is stored."""

from __future__ import annotations

import itertools
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from transactions import pricing
from transactions.models import ExchangeRate
from transactions.pricing import RateQuote, RatesRefused
from transactions.rate_cycles import PairRate, gaining_cycle, inverse
from users.tests.factories import StaffFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.two_factor import verified_staff_login

REPRODUCTION = "100 EUR → 90 GBP → 113.92 USD → 105.48 EUR (+5.4852 %)"


def set_rates(*rows: tuple[str, str, str]) -> None:
    pricing.exchange_rate_set(actor=None, rates=[RateQuote(base=b, quote=q, rate=r) for b, q, r in rows])


def stored() -> list[tuple]:
    return list(ExchangeRate.objects.order_by("id").values_list("base_id", "quote_id", "rate"))


@pytest.fixture
def in_force(db):
    set_rates(("EUR", "USD", "1.08"), ("USD", "GBP", "0.79"))
    return stored()


def test_the_reproduction_load_rates_refuses_a_third_rate_that_closes_a_gaining_loop(in_force, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("EUR,GBP,0.90\n")

    with pytest.raises(CommandError) as refused:
        call_command("load_rates", str(path), stdout=StringIO())

    assert str(refused.value) == (
        f"{path}: nothing loaded. line 1: EUR/GBP 0.9 would let money gain in a loop through the rates in "
        f"force: {REPRODUCTION}. Set rates that agree with each other."
    )
    assert stored() == in_force
    assert AuditEvent.objects.filter(action="exchange_rate.created").count() == 2


def test_the_admin_refuses_it_too_and_says_why(in_force, client):
    verified_staff_login(client, StaffFactory(groups=["Finance"]))

    response = client.post(
        reverse("admin:transactions_exchangerate_add"),
        {"base": "EUR", "quote": "GBP", "rate": "0.90", "source": "desk"},
    )

    assert response.status_code == 200
    assert REPRODUCTION in " ".join(response.context["adminform"].form.errors["rate"])
    assert stored() == in_force


def test_a_consistent_cross_rate_is_accepted_and_the_smallest_gain_is_not(in_force):
    with pytest.raises(RatesRefused):
        # 1.08 × 0.79 = 0.8532, plus 10^-15: the loop gains about one part in 10^15. (One part in 10^18
        # would not gain: the inverse directions are priced rounded down, as rate_for does.)
        set_rates(("EUR", "GBP", "0.853200000000001"))
    set_rates(("EUR", "GBP", "0.853200000000000001"))

    set_rates(("EUR", "GBP", "0.8532"))

    assert stored()[-2:] == [("EUR", "GBP", Decimal("0.853200000000000001")), ("EUR", "GBP", Decimal("0.8532"))]


def test_the_line_that_closes_the_loop_is_named_and_nothing_in_the_file_is_loaded(in_force, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("base,quote,rate\nUSD,BTC,0.00001\nBTC,EUR,90000\nGBP,EUR,1.2\n")

    with pytest.raises(CommandError) as refused:
        call_command("load_rates", str(path), stdout=StringIO())

    # USD → BTC → EUR gives 0.9 EUR per USD where the rates in force give 1/1.08 = 0.9259…: no gain.
    # GBP/EUR 1.2 (line 4) closes EUR → USD → GBP → EUR at 1.08 × 0.79 × 1.2 = 1.02384.
    assert "nothing loaded. line 4: GBP/EUR 1.2 would let money gain" in str(refused.value)
    assert stored() == in_force


def test_a_file_that_moves_every_rate_at_once_is_judged_as_a_whole(in_force, tmp_path):
    """Line by line, the first new rate against the old ones would gain; the file as a whole does not."""
    set_rates(("EUR", "GBP", "0.8532"))
    path = tmp_path / "rates.csv"
    path.write_text("EUR,USD,1.10\nUSD,GBP,0.80\nEUR,GBP,0.88\n")

    call_command("load_rates", str(path), stdout=StringIO())

    assert stored()[-3:] == [
        ("EUR", "USD", Decimal("1.10")),
        ("USD", "GBP", Decimal("0.80")),
        ("EUR", "GBP", Decimal("0.88")),
    ]


def test_a_four_currency_loop_is_found(db):
    set_rates(("EUR", "USD", "1.08"), ("USD", "GBP", "0.79"), ("GBP", "BTC", "0.00002"))

    with pytest.raises(RatesRefused) as refused:
        set_rates(("BTC", "EUR", "60000"))  # 1.08 × 0.79 × 0.00002 × 60000 = 1.02384

    assert "BTC/EUR 60000 would let money gain" in refused.value.detail
    assert "(+2.384 %)" in refused.value.detail


def test_a_stale_rate_is_not_in_force(db, settings):
    set_rates(("EUR", "USD", "1.08"), ("USD", "GBP", "0.79"))
    ExchangeRate.objects.update(created_at=ExchangeRate.objects.first().created_at - settings.EXCHANGE_RATE_MAX_AGE * 2)

    set_rates(("EUR", "GBP", "0.90"))  # the others have aged out: no loop through them is priced

    assert stored()[-1] == ("EUR", "GBP", Decimal("0.90"))


# --- the search itself, against every simple cycle enumerated by brute force -----------------------

CODES = ["A", "B", "C", "D", "E"]


def brute_force_gains(pairs: list[PairRate]) -> bool:
    edges: dict[tuple[str, str], Decimal] = {}
    for pair in pairs:
        edges[(pair.base, pair.quote)] = pair.rate
        if inverse(pair.rate) > 0:
            edges[(pair.quote, pair.base)] = inverse(pair.rate)
    codes = sorted({code for edge in edges for code in edge})
    for size in range(2, len(codes) + 1):
        for loop in itertools.permutations(codes, size):
            steps = list(zip(loop, loop[1:] + loop[:1], strict=True))
            if all(step in edges for step in steps):
                product = Decimal(1)
                for step in steps:
                    product = product * edges[step]  # few digits: exact in the default context
                if product > 1:
                    return True
    return False


rates = st.sampled_from(["0.5", "2", "1", "0.8", "1.25", "1.2", "0.83", "3", "0.34", "0.333333"]).map(Decimal)
pair_lists = st.lists(
    st.tuples(st.sampled_from(CODES), st.sampled_from(CODES), rates).filter(lambda row: row[0] != row[1]),
    max_size=8,
)


@settings(max_examples=400, deadline=None)
@given(pair_lists)
def test_the_search_finds_a_gaining_loop_exactly_when_one_exists(rows):
    pairs: dict[frozenset, PairRate] = {}
    for base, quote, rate in rows:
        pairs[frozenset((base, quote))] = PairRate(base=base, quote=quote, rate=rate)
    found = gaining_cycle(pairs.values())

    assert (found is not None) == brute_force_gains(list(pairs.values()))
    if found is not None:
        assert found.factor > 1 and found.currencies[0] == found.currencies[-1]


def test_break_even_loops_are_not_gains():
    pairs = [PairRate("A", "B", Decimal("2")), PairRate("B", "C", Decimal("0.5")), PairRate("C", "A", Decimal("1"))]

    assert gaining_cycle(pairs) is None


def test_the_loop_named_is_one_that_gains_when_a_nearby_loop_only_breaks_even():
    # Found by the search above: B→C→B breaks even but for the inverse's rounding (× 0.99999999999999999922);
    # A→B→C→D→A gains. The refusal must name the loop that gains.
    rows = [("A", "E", "0.5"), ("B", "A", "0.34"), ("C", "B", "0.83"), ("C", "D", "0.333333"), ("D", "A", "2")]
    found = gaining_cycle(PairRate(base=base, quote=quote, rate=Decimal(rate)) for base, quote, rate in rows)

    assert found is not None and found.factor > 1
    assert found.currencies[0] == found.currencies[-1] and set(found.currencies) >= {"A", "B", "C", "D"}
