"""No loop through the exchange rates in force may gain (SPEC §12, §14).

With EUR/USD 1.08 and USD/GBP 0.79 in force, loading EUR/GBP 0.90 let 100 EUR become 90 GBP, then
113.92 USD, then 105.48 EUR — paid by the fx wallet, round after round. A rate is refused when, with it
in force, any cycle of currencies (two, three or more) multiplies to more than 1.

The graph is what ``pricing.rate_for`` would charge: for each pair of currencies the newest fresh row,
whichever way it is quoted, gives both directions — ``rate`` one way and ``1 / rate`` rounded down to
18 places the other (an inverse that rounds to 0 is no edge, as ``rate_for`` refuses it).

Finding a gaining cycle is finding a negative cycle of ``-log(rate)``, the textbook Bellman–Ford.
It runs here on the rates themselves, in the multiplicative group: relax ``best[v] < best[u] × rate``
and a cycle gains exactly when an edge still relaxes after ``n − 1`` rounds. Products of Decimals are
exact when the context has enough digits (a path multiplies at most ``n`` rates of at most 38
significant digits), and the context traps ``Inexact``, so a gain of one part in 10^38 is found and an
exactly break-even loop (2 × 0.5) is not flagged: no logarithm, no tolerance to choose. Currencies
number in the tens, so ``n × edges`` products of a few hundred digits cost well under a millisecond.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Context, Decimal, Inexact, localcontext

from django.conf import settings
from django.db import connection
from django.utils import timezone

from transactions.models import ExchangeRate

RATE_DECIMALS = 18
_SIGNIFICANT_DIGITS = 40  # NUMERIC(38, 18): 38 digits; 1/rate rounded to 18 places: at most 38 too


@dataclass(frozen=True)
class PairRate:
    """The newest row of a pair of currencies: 1 ``base`` = ``rate`` ``quote``; ``line`` is its
    position in the batch being set, or None for a row already in force."""

    base: str
    quote: str
    rate: Decimal
    line: int | None = None


@dataclass(frozen=True)
class GainingCycle:
    currencies: tuple[str, ...]  # the loop, first currency repeated at the end
    rates: tuple[Decimal, ...]  # the rate of each step
    lines: tuple[int, ...]  # batch lines whose rate is a step of the loop

    @property
    def factor(self) -> Decimal:
        with localcontext(_exact_context(len(self.rates))):
            product = Decimal(1)
            for rate in self.rates:
                product *= rate
            return product

    def described(self, start: Decimal = Decimal(100)) -> str:
        """ "100 EUR → 90 GBP → 113.92 USD → 105.48 EUR (+5.48 %)", rounded for reading only."""
        amounts = [start]
        with localcontext(_exact_context(len(self.rates) + 1)):
            for rate in self.rates:
                amounts.append(amounts[-1] * rate)
            gain = (self.factor - 1) * 100
        steps = " → ".join(
            f"{_readable(amount)} {code}" for amount, code in zip(amounts, self.currencies, strict=False)
        )
        return f"{steps} (+{_readable(gain, places=4)} %)"


def _readable(value: Decimal, *, places: int = 2) -> str:
    shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
    if shown == 0 and value != 0:
        return f"{value:.3g}"
    return format(shown.normalize(), "f")


def _exact_context(factors: int) -> Context:
    context = Context(prec=_SIGNIFICANT_DIGITS * (factors + 1) + 10)
    context.traps[Inexact] = True
    return context


def inverse(rate: Decimal) -> Decimal:
    """1 / rate as ``rate_for`` prices the opposite direction: rounded down to 18 places."""
    with localcontext(Context(prec=80)):
        return (Decimal(1) / rate).quantize(Decimal(1).scaleb(-RATE_DECIMALS), rounding=ROUND_DOWN)


def rates_in_force(*, now: datetime | None = None) -> list[PairRate]:
    """The newest fresh row of every pair of currencies, whichever way it is quoted (as ``rate_for``)."""
    cutoff = (now or timezone.now()) - settings.EXCHANGE_RATE_MAX_AGE
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT ON (LEAST(base_id, quote_id), GREATEST(base_id, quote_id)) base_id, quote_id, rate "
            f"FROM {ExchangeRate._meta.db_table} WHERE created_at >= %s "
            "ORDER BY LEAST(base_id, quote_id), GREATEST(base_id, quote_id), created_at DESC, id DESC",
            [cutoff],
        )
        return [PairRate(base=base, quote=quote, rate=rate) for base, quote, rate in cursor.fetchall()]


def with_new_rates(in_force: Iterable[PairRate], new: Iterable[PairRate]) -> list[PairRate]:
    """The rates in force once ``new`` (later ones newer) is set: a new row replaces its pair."""
    pairs: dict[frozenset[str], PairRate] = {}
    for rate in [*in_force, *new]:
        pairs[frozenset((rate.base, rate.quote))] = rate
    return list(pairs.values())


def _edges(rates: Iterable[PairRate]) -> dict[tuple[str, str], tuple[Decimal, int | None]]:
    edges: dict[tuple[str, str], tuple[Decimal, int | None]] = {}
    for pair in rates:
        edges[(pair.base, pair.quote)] = (pair.rate, pair.line)
        opposite = inverse(pair.rate)
        if opposite > 0:
            edges[(pair.quote, pair.base)] = (opposite, pair.line)
    return edges


def gaining_cycle(rates: Iterable[PairRate]) -> GainingCycle | None:
    """A cycle whose rates multiply to more than 1, or None when no cycle gains."""
    edges = _edges(rates)
    return _find_cycle(edges)


def _find_cycle(edges: Mapping[tuple[str, str], tuple[Decimal, int | None]]) -> GainingCycle | None:
    currencies = sorted({code for pair in edges for code in pair})
    if len(currencies) < 2:
        return None
    # Every currency starts at 1, as if a virtual source reached each with rate 1: that is n + 1
    # nodes, so n rounds settle every value and round n + 1 relaxes only if a cycle gains.
    best = dict.fromkeys(currencies, Decimal(1))
    previous: dict[str, str] = {}
    ordered = sorted(edges.items())
    changed_at: str | None = None
    # Every value is a product along a walk the rounds built: at most (n + 1) × |edges| rates of at most
    # 40 digits, which the context holds exactly, so the predecessors of a value still improving in the
    # last round lead onto a loop that gains (with a narrower context, cut products left a loop that
    # merely broke even in the predecessors). A product that does not fit would itself prove a gain.
    with localcontext(_exact_context((len(currencies) + 1) * max(len(ordered), 1))):
        try:
            for _ in range(len(currencies) + 1):
                changed_at = None
                for (source, target), (rate, _line) in ordered:
                    if best[source] * rate > best[target]:
                        best[target] = best[source] * rate
                        previous[target] = source
                        changed_at = target
                if changed_at is None:
                    return None
        except Inexact:
            changed_at = target
            previous[target] = source
    return _cycle_through(changed_at, previous, edges, rounds=len(currencies) + 1)


def _cycle_through(
    node: str, previous: Mapping[str, str], edges: Mapping[tuple[str, str], tuple[Decimal, int | None]], *, rounds: int
) -> GainingCycle:
    """Walk back along ``previous`` from a currency still improving: after ``rounds`` steps the walk is
    on a gaining cycle. Should the walk end first (it cannot, by the argument above), the loop is
    reported with the rates touched, so the refusal still names the lines."""
    for _ in range(rounds):
        if node not in previous:
            break
        node = previous[node]
    loop = [node]
    current = node
    while len(loop) <= rounds:
        current = previous.get(current)
        if current is None or current == node:
            break
        loop.append(current)
    loop.append(node)
    loop.reverse()  # previous[] points backwards: now each currency is followed by the one it buys
    steps = [step for step in zip(loop, loop[1:], strict=False) if step in edges]
    # Start the loop at the newest rate being set, so the message reads from the line it blames.
    newest = max(
        range(len(steps)),
        key=lambda index: (edges[steps[index]][1] is not None, edges[steps[index]][1] or 0),
        default=0,
    )
    steps = steps[newest:] + steps[:newest]
    loop = [source for source, _ in steps] + [steps[0][0]] if steps else loop
    return GainingCycle(
        currencies=tuple(loop),
        rates=tuple(edges[step][0] for step in steps),
        lines=tuple(sorted({edges[step][1] for step in steps if edges[step][1] is not None})),
    )
