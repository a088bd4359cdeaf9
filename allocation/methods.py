"""The allocation methods: which lots a line draws from, and at what unit cost.

Pure Python over the dataclasses of `allocation.domain`; no Django import.
Every method except SPECIFIC takes in-stock lots (received on or before the
run's date D, not expired) in its own order, then, if inbound lots are allowed,
lots not received yet by ETA (empty ETA last). Ties break on lot id.

- FIFO (先入先出法): oldest `received_on` first; each pick at its lot's cost.
- LIFO (後入先出法): newest `received_on` first; each pick at its lot's cost.
- SPECIFIC (個別法): only the lot named on the line; at that lot's cost.
- AVERAGE (平均法): oldest first; every pick of a line at the weighted average
  of the item's in-stock, unexpired lots over their available quantities,
  taken just before the line.
- TOTAL_AVERAGE (総平均法): oldest first; every pick at the item's periodic
  average for the period holding D (provisional until the period is closed).
- MOVING_AVERAGE (移動平均法): oldest first; every pick at the item's moving
  average in force at D.
- FEFO: earliest `expires_on` first (no expiry last), then oldest; lot's cost.
- LAST_PURCHASE (最終仕入原価法): oldest first; every pick at the cost of the
  item's most recently received lot at D.

Where an average cannot be formed, each pick is costed at its lot's own cost.
The averages that follow an item's whole history (moving, total) and the last
purchase cost are worked out by the caller from that history (the method's
`item_history` and `item_cost`, see `allocation.history`) and passed to the
allocator (`allocation.allocator`) as `item_costs`; they do not change during a run.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from allocation.domain import LotSnapshot, UnknownMethod, gettext_noop
from allocation.history import StockEvent, last_receipt_cost, moving_average, periodic_average

_FAR_FUTURE = date.max


def _received_key(lot: LotSnapshot) -> tuple:
    return (lot.received_on or _FAR_FUTURE, lot.id)


def _newest_key(lot: LotSnapshot) -> tuple:
    return (-(lot.received_on or _FAR_FUTURE).toordinal(), lot.id)


def _expiry_key(lot: LotSnapshot) -> tuple:
    return (lot.expires_on or _FAR_FUTURE, lot.received_on or _FAR_FUTURE, lot.id)


ItemCost = Callable[[list[StockEvent], date, Callable[[date], date], bool], Fraction | Decimal | None]


def _moving(events: list[StockEvent], at: date, period_start: Callable[[date], date], final: bool):
    return moving_average(events, at)


def _periodic(events: list[StockEvent], at: date, period_start: Callable[[date], date], final: bool):
    return periodic_average(events, at, period_start=period_start, final=final)


def _last_purchase(events: list[StockEvent], at: date, period_start: Callable[[date], date], final: bool):
    return last_receipt_cost(events, at)


@dataclass(frozen=True, slots=True)
class AllocationMethod:
    """Everything that differs between two methods; the rest of the code asks this, never a method's name.

    - `in_stock_key`: the order in which in-stock lots are taken (inbound lots always go by ETA after them);
    - `costing`: "lot" (each pick at its lot's cost), "average" (the in-stock average just before the
      line, kept as the run takes stock) or "item" (one figure per item, from its history);
    - for "item": `item_history` ("receipts": the lots received; "full": receipts, issues and releases)
      and `item_cost(events, at, period_start, final)`, a pure function of that history;
    - `provisional`: its costs are final only when their period is closed, which costs them again with
      `item_cost(..., final=True)`;
    - `named_lot_only`: a line takes only the lot it names;
    - `takes` and `costs`: how a pick is explained (`allocation.explain`): the lot it takes in stock, and for
      "item" costing what the cost is ({as_of} and {period} are filled in).
    """

    name: str
    in_stock_key: Callable[[LotSnapshot], tuple]
    costing: str = "lot"
    item_history: str = "none"
    item_cost: ItemCost | None = None
    named_lot_only: bool = False
    provisional: bool = False
    takes: str = gettext_noop("oldest lot in stock")
    costs: str = ""


REGISTRY: dict[str, AllocationMethod] = {}


def register(method: AllocationMethod) -> AllocationMethod:
    """Add a method to the registry (the model's choices, a migration and a translation make it public)."""
    REGISTRY[method.name] = method
    return method


for _method in (
    AllocationMethod("FIFO", _received_key),
    AllocationMethod("LIFO", _newest_key, takes=gettext_noop("newest lot in stock")),
    AllocationMethod("SPECIFIC", _received_key, named_lot_only=True, takes=gettext_noop("the lot named on the line")),
    AllocationMethod("AVERAGE", _received_key, costing="average"),
    AllocationMethod("TOTAL_AVERAGE", _received_key, costing="item", item_history="full", item_cost=_periodic,
                     provisional=True, costs=gettext_noop("total average of {period}")),
    AllocationMethod("MOVING_AVERAGE", _received_key, costing="item", item_history="full", item_cost=_moving,
                     costs=gettext_noop("moving average in force on {as_of}")),
    AllocationMethod("FEFO", _expiry_key, takes=gettext_noop("first to expire, then oldest")),
    AllocationMethod("LAST_PURCHASE", _received_key, costing="item", item_history="receipts",
                     item_cost=_last_purchase, costs=gettext_noop("last purchase price on {as_of}")),
):
    register(_method)
DEFAULT_METHOD = "FIFO"


def get_method(name: object) -> AllocationMethod:
    """Return the method registered under `name`, or raise UnknownMethod."""
    try:
        return REGISTRY[str(name)]
    except KeyError:
        raise UnknownMethod(name) from None
