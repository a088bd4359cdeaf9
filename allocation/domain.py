"""The allocation domain: plain data and errors, with no Django import.

Everything the pure methods in `allocation.methods` read and return is here:
a snapshot of a lot, a line's demand, a pick, an order's outcome, and the
domain errors, which carry the data the API and the admin need to explain them.

The values are slotted dataclasses, not frozen ones, though nothing changes them once made: a frozen
dataclass's __init__ sets each field through object.__setattr__, about four times slower, and a
50,000-line run makes some 150,000 of them (lots, line demands, picks): 0.3 s of such a run on a slow day.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

# The shared errors, which the engine's own (below) extend; also importable from here.
from inventory_alloc.errors import Conflict, DomainError, InvalidInput, NotFound  # noqa: F401


def gettext_noop(text: str) -> str:
    """Mark words for translation without translating them (makemessages finds them by this name; the engine
    imports no Django): the Django side translates them when it shows them."""
    return text


def same(text: str) -> str:
    """The words as written (English): what the engine says when it is given no translation."""
    return text

COST_PLACES = Decimal("0.0001")
MONEY_PLACES = Decimal("0.01")


def round_cost(value: Decimal) -> Decimal:
    """Round an exact cost to the 4 places of a unit cost, half up."""
    return value.quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def round_money(value: Decimal) -> Decimal:
    """Round an amount to cents, half up."""
    return value.quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)


def fraction_to_cost(value: Fraction) -> Decimal:
    """Round an exact fraction (an average) half up to a 4-place unit cost."""
    scaled = value * 10_000
    q, r = divmod(scaled.numerator, scaled.denominator)
    if 2 * r >= scaled.denominator:
        q += 1
    return Decimal(q).scaleb(-4)


def amount_of(quantity: int, unit_cost: Decimal) -> Decimal:
    """Return round(quantity × unit_cost, 2) as ALLOCATION.md defines an amount."""
    return round_money(quantity * unit_cost)


@dataclass(slots=True)
class LotSnapshot:
    """A lot as a run sees it: `available` is quantity less active allocations."""

    id: int
    item_id: int
    available: int
    unit_cost: Decimal
    received_on: date | None = None
    eta: date | None = None
    expires_on: date | None = None
    reference: str = ""

    def is_expired(self, at: date) -> bool:
        return self.expires_on is not None and self.expires_on < at

    def is_in_stock(self, at: date) -> bool:
        return self.received_on is not None and self.received_on <= at


@dataclass(slots=True)
class LineDemand:
    """What a line still needs: `quantity` is ordered less already allocated."""

    line_id: int
    order_id: int
    item_id: int
    quantity: int
    lot_id: int | None = None
    ordered: int | None = None

    @property
    def ordered_quantity(self) -> int:
        return self.quantity if self.ordered is None else self.ordered


@dataclass(slots=True)
class OrderDemand:
    """An order's lines, in line-id order, as the run will serve them."""

    order_id: int
    lines: tuple[LineDemand, ...]


@dataclass(slots=True)
class Pick:
    """One allocation: `quantity` units of `lot_id` for `line_id` at `unit_cost`."""

    line_id: int
    order_id: int
    item_id: int
    lot_id: int
    quantity: int
    unit_cost: Decimal
    amount: Decimal
    cost_final: bool = True


@dataclass(slots=True)
class Share:
    """A line's fair share of a scarce item: `quota` units of the `need` it asks; the item has `supply` units
    for `demand` asked by all its lines."""

    quota: int
    need: int
    supply: int
    demand: int

    def describe(self, _=same) -> str:
        """Say the share in words; `_` translates them (gettext on the Django side)."""
        return _("fair share: {quota} of {need} asked ({supply} for {demand})").format(
            quota=self.quota, need=self.need, supply=self.supply, demand=self.demand)


@dataclass(slots=True)
class Shortfall:
    """A line that the run could not fill: how much is still missing, and why."""

    line_id: int
    item_id: int
    requested: int
    allocated: int
    reason: str = ""
    # What the run found for the line; differs from `allocated` only when an
    # all-or-nothing order was skipped (then nothing was allocated).
    available: int | None = None
    # Under policy fair_share, the line's share of its scarce item (why it got what it got).
    share: Share | None = None

    @property
    def short(self) -> int:
        """Return how many units could not be found."""
        return self.requested - (self.allocated if self.available is None else self.available)


class OutcomeStatus:
    ALLOCATED = "allocated"
    PARTIAL = "partial"
    NOT_ALLOCATED = "not_allocated"
    SKIPPED = "skipped"


# Why a run leaves an order or a line short, as runs store them and the API answers them (in English); the back
# office says them in the page's language (`allocation.templatetags.backoffice`). A named lot's own reasons name
# the lot and stay as written.
NOT_ENOUGH_STOCK = gettext_noop("not enough stock")
NOT_EVERY_LINE = gettext_noop("not every line can be filled")
ALREADY_ALLOCATED = gettext_noop("already allocated")
NO_LOT_NAMED = gettext_noop("no lot named")
NAMED_LOT_UNAVAILABLE = gettext_noop("the named lot has nothing available")
# Why an order placed after the run's date is skipped: it did not exist at that date (it is not short).
ORDERED_LATER = gettext_noop("ordered after the allocation date")
CANCELLED = gettext_noop("cancelled")
REASONS = (NOT_ENOUGH_STOCK, NOT_EVERY_LINE, ALREADY_ALLOCATED, NO_LOT_NAMED, NAMED_LOT_UNAVAILABLE, ORDERED_LATER,
           CANCELLED)


@dataclass(slots=True)
class OrderOutcome:
    """What a run did for one order."""

    order_id: int
    status: str
    quantity: int = 0
    amount: Decimal = Decimal("0.00")
    shortfalls: list[Shortfall] = field(default_factory=list)
    reason: str = ""


@dataclass(slots=True)
class Plan:
    """Everything a run decided: picks in serving order and one outcome per order."""

    picks: list[Pick] = field(default_factory=list)
    outcomes: list[OrderOutcome] = field(default_factory=list)
    # Per order, per line costed at an average (AVERAGE): its basis, raw (`allocation.allocator.basis_of`), to
    # explain its picks.
    bases: dict = field(default_factory=dict)


# --- Errors -----------------------------------------------------------------

class UnknownMethod(InvalidInput):
    def __init__(self, name: object) -> None:
        super().__init__(f'"{name}" is not an allocation method.', field="method", name=str(name))


class InsufficientStock(Conflict):
    """An all-or-nothing request cannot be filled; `shortfalls` says by how much.

    Its data carries them as rows too (`shortfalls`: line, item_code, requested, allocated, short,
    reason), as the API shows them.
    """

    default_message = "Not enough stock to fill the order."
    code = "insufficient_stock"

    def __init__(self, shortfalls: list[Shortfall], message: str | None = None, *,
                 item_codes: dict[int, str] | None = None, **data: object) -> None:
        super().__init__(message, **data)
        self.shortfalls = shortfalls
        self.item_codes = item_codes or {}

    def payload(self) -> dict:
        rows = [{"line": s.line_id, "item_code": self.item_codes.get(s.item_id, ""), "requested": s.requested,
                 "allocated": s.allocated, "short": s.short, "reason": s.reason} for s in self.shortfalls]
        return {**self.data, "shortfalls": rows}


class LotOverAllocated(Conflict):
    """A lot edit would leave less than is allocated from it; `orders` hold it."""

    def __init__(self, reference: str, allocated: int, orders: list[str], message: str | None = None) -> None:
        super().__init__(
            message or (
                f"Lot {reference} has {allocated} units allocated to orders "
                f"{', '.join(orders)}; release them first."
            ),
            lot=reference, allocated=allocated, orders=orders,
        )
        self.orders = orders


class PeriodNotEnded(InvalidInput):
    def __init__(self, period: str) -> None:
        super().__init__(f"Period {period} has not ended yet.", field="period", period=period)


class PeriodClosed(Conflict):
    def __init__(self, period: str, message: str | None = None) -> None:
        super().__init__(message or f"Period {period} is closed.", period=period)
