"""Why a pick was made, in one line a clerk understands (pure, no Django).

`explain(facts)` reads only what a stored run keeps: the run's method, policy and date, the pick's lot (its
reference and dates), its unit cost and whether that cost is final, and what the run noted for the line: under
AVERAGE the average's basis (`Basis`: the stock's value and quantity just before the line, and its first
lots), under fair_share the line's share (`allocation.domain.Share`). A dry run gives the same facts from
memory, so a preview, a stored run and the API explain a pick in the same words. Which lots a method takes and
how it costs come from its spec (`AllocationMethod.takes`, `.costing`, `.costs`), never from its name.

    FIFO: oldest lot in stock (L1, received 2026-01-05); the lot's cost 10.0000
    FIFO: inbound after in-stock ran out (L4, ETA 2026-02-10); the lot's cost 12.0000
    AVERAGE: oldest lot in stock (L1, received 2026-01-05); average 11.2000 = 2800.00 / 250 over L1, L2, L3
    MOVING_AVERAGE: oldest lot in stock (L2, received 2026-01-10); moving average in force on 2026-01-25: 11.2000
    TOTAL_AVERAGE: ...; total average of 2026-01: 11.2000, provisional until 2026-01 is closed
    FIFO: oldest lot in stock (L1, received 2026-01-05); the lot's cost 10.0000; fair share: 30 of 60 asked (100 for 200)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from allocation.domain import MONEY_PLACES, Share, same
from allocation.methods import get_method

LOTS_NAMED = 3  # an average's basis names its first lots, then says how many more


@dataclass(frozen=True, slots=True)
class Basis:
    """What an AVERAGE line was costed over: the in-stock value and quantity just before it, and its lots."""

    value: Decimal
    quantity: int
    lots: tuple[str, ...]
    more_lots: bool = False

    def as_json(self) -> list:
        return [str(self.value), self.quantity, list(self.lots), self.more_lots]

    @classmethod
    def from_json(cls, data: list | None) -> Basis | None:
        return None if not data else cls(Decimal(data[0]), data[1], tuple(data[2]), bool(data[3]))


@dataclass(frozen=True, slots=True)
class PickFacts:
    method: str
    as_of: date
    lot: str
    received_on: date | None
    eta: date | None
    expires_on: date | None
    unit_cost: Decimal
    cost_final: bool = True
    period: str = ""
    basis: Basis | None = None
    share: Share | None = None


def _where(facts: PickFacts, named_lot_only: bool, takes: str, _: Callable[[str], str]) -> str:
    if facts.received_on is None or facts.received_on > facts.as_of:
        eta = _(", ETA {eta}").format(eta=facts.eta) if facts.eta else ""
        if named_lot_only:
            return _("{takes}, not received yet ({lot}{eta})").format(takes=_(takes), lot=facts.lot, eta=eta)
        return _("inbound after in-stock ran out ({lot}{eta})").format(lot=facts.lot, eta=eta)
    expires = _(", expires {date}").format(date=facts.expires_on) if facts.expires_on else ""
    return _("{takes} ({lot}, received {date}{expires})").format(
        takes=_(takes), lot=facts.lot, date=facts.received_on, expires=expires)


def _cost(facts: PickFacts, _: Callable[[str], str]) -> str:
    spec = get_method(facts.method)
    if spec.costing == "average":
        if facts.basis is None:
            return _("no stock to average: the lot's cost {cost}").format(cost=facts.unit_cost)
        basis = facts.basis
        lots = ", ".join(basis.lots) + (_(" and more") if basis.more_lots else "")
        return _("average {cost} = {value} / {quantity} over {lots}").format(
            cost=facts.unit_cost, value=basis.value.quantize(MONEY_PLACES), quantity=basis.quantity, lots=lots)
    if spec.costing == "item":
        said = _(spec.costs).format(as_of=facts.as_of, period=facts.period) + f": {facts.unit_cost}"
        if spec.provisional:
            said += _(", final") if facts.cost_final else _(", provisional until {period} is closed").format(
                period=facts.period)
        return said
    return _("the lot's cost {cost}").format(cost=facts.unit_cost)


def explain(facts: PickFacts, _: Callable[[str], str] = same) -> str:
    """Return why the pick was made and costed as it was, in one line; `_` translates its words (the Django side
    passes gettext: the engine itself stays free of Django)."""
    spec = get_method(facts.method)
    said = f"{spec.name}: {_where(facts, spec.named_lot_only, spec.takes, _)}; {_cost(facts, _)}"
    if facts.share is not None:
        said += f"; {facts.share.describe(_)}"
    return said
