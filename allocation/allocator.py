"""The allocator: serve orders one by one, in the order given, from one set of lots (pure, no Django).

It knows nothing of any method by name: it asks the method's spec (`allocation.methods`) in which
order in-stock lots go, whether a line takes only the lot it names, and how a line is costed.
Inbound lots (if allowed) come after the in-stock ones by ETA, empty ETA last; ties break on lot id.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from allocation.domain import (
    ALREADY_ALLOCATED,
    MONEY_PLACES,
    NAMED_LOT_UNAVAILABLE,
    NO_LOT_NAMED,
    NOT_ENOUGH_STOCK,
    NOT_EVERY_LINE,
    LineDemand,
    LotSnapshot,
    OrderDemand,
    OrderOutcome,
    OutcomeStatus,
    Pick,
    Plan,
    Share,
    Shortfall,
    fraction_to_cost,
)
from allocation.explain import LOTS_NAMED, Basis
from allocation.methods import AllocationMethod, get_method
from allocation.policies import fair_quotas

_FAR_FUTURE = date.max


def _inbound_key(lot: LotSnapshot) -> tuple:
    return (lot.eta is None, lot.eta or _FAR_FUTURE, lot.id)


class _ItemBook:
    """The lots of one item during a run, in the order the method takes them.

    `stock_qty` and `stock_value` (kept only when `track_value`, for AVERAGE)
    follow the available in-stock quantity and its value at lot cost, exactly: in whole ten-thousandths of
    the currency (an int) when every in-stock lot's cost has at most 4 places, as they are stored (`costs`
    holds them so), else in Decimal (`costs` is None).
    """

    __slots__ = ("lots", "available", "start", "stock_qty", "stock_value", "in_stock", "track_value", "costs")

    def __init__(self, lots: list[LotSnapshot], in_stock: set[int], track_value: bool) -> None:
        self.lots = lots
        self.available = {lot.id: lot.available for lot in lots}
        self.in_stock = in_stock
        self.track_value = track_value
        self.start = 0
        self.stock_qty = 0
        self.stock_value: int | Decimal = 0
        self.costs: dict[int, int] | None = None
        if track_value:
            held = [lot for lot in lots if lot.id in in_stock]
            scaled = {lot.id: lot.unit_cost.scaleb(4) for lot in held}
            if all(cost == cost.to_integral_value() for cost in scaled.values()):
                self.costs = {lot_id: int(cost) for lot_id, cost in scaled.items()}
                self.stock_value = sum(lot.available * self.costs[lot.id] for lot in held)
            else:
                self.stock_value = sum((lot.available * lot.unit_cost for lot in held), Decimal(0))
            self.stock_qty = sum(lot.available for lot in held)

    def take(self, lot: LotSnapshot, quantity: int) -> None:
        self.available[lot.id] -= quantity
        if self.track_value and lot.id in self.in_stock:
            self.stock_qty -= quantity
            costs = self.costs
            self.stock_value -= quantity * (costs[lot.id] if costs is not None else lot.unit_cost)

    def put_back(self, lot: LotSnapshot, quantity: int) -> None:
        self.take(lot, -quantity)
        self.start = 0

    def average(self) -> Decimal | None:
        """Return the in-stock average, rounded half up to 4 places, or None without stock."""
        quantity = self.stock_qty
        if quantity <= 0:
            return None
        if self.costs is not None:
            q, r = divmod(self.stock_value, quantity)
            return Decimal(q + (2 * r >= quantity)).scaleb(-4)
        return fraction_to_cost(Fraction(self.stock_value) / quantity)

    def value_of(self, value: int | Decimal) -> Decimal:
        """Return a stock value this book kept (in ten-thousandths, or Decimal) as a Decimal of the currency."""
        return Decimal(value).scaleb(-4) if self.costs is not None else value


class Allocator:
    """Serve orders one by one, in the order given, from one set of lots."""

    def __init__(
        self,
        method: AllocationMethod,
        lots: Iterable[LotSnapshot],
        *,
        as_of: date,
        allow_inbound: bool = True,
        item_costs: Mapping[int, Decimal | None] | None = None,
    ) -> None:
        self.method = method
        self.as_of = as_of
        self.allow_inbound = allow_inbound
        self.item_costs = item_costs or {}
        self.lots_by_id: dict[int, LotSnapshot] = {}
        self.books: dict[int, _ItemBook] = {}
        self.shares: dict[int, Share] = {}
        # Per order, per line costed at an average, what it was averaged over, kept raw (`basis_of` makes it a
        # Basis): the stock's value and quantity, and where the item's lots in stock began (the ones before were spent).
        self.bases: dict[int, dict[int, tuple]] = {}
        self._build_books(lots)

    def _build_books(self, lots: Iterable[LotSnapshot]) -> None:
        stock: dict[int, list[LotSnapshot]] = {}
        inbound: dict[int, list[LotSnapshot]] = {}
        for lot in lots:
            self.lots_by_id[lot.id] = lot
            if lot.available <= 0 or lot.is_expired(self.as_of):
                continue
            target = stock if lot.is_in_stock(self.as_of) else inbound
            target.setdefault(lot.item_id, []).append(lot)
        for item_id in stock.keys() | inbound.keys():
            ordered = sorted(stock.get(item_id, ()), key=self.method.in_stock_key)
            in_stock_ids = {lot.id for lot in ordered}
            if self.allow_inbound:
                ordered += sorted(inbound.get(item_id, ()), key=_inbound_key)
            self.books[item_id] = _ItemBook(ordered, in_stock_ids, self.method.costing == "average")

    def ration(self, orders: list[OrderDemand]) -> None:
        """Share every scarce item between the lines of `orders` (in serving order) pro rata (`fair_quotas`);
        from now on each of those lines takes at most its quota."""
        supply = {item_id: sum(book.available.values()) for item_id, book in self.books.items()}
        self.shares = fair_quotas(((d.line_id, d.item_id, d.quantity) for o in orders for d in o.lines), supply)

    # -- serving -------------------------------------------------------------

    def serve(self, order: OrderDemand, *, allow_partial: bool = True) -> tuple[list[Pick], OrderOutcome]:
        """Allocate an order's lines; undo it all if a line falls short and partial is off."""
        picks: list[Pick] = []
        shortfalls: list[Shortfall] = []
        already = 0
        served_any = False
        for line in order.lines:
            already += line.ordered_quantity - line.quantity
            if line.quantity <= 0:
                continue
            served_any = True
            share = self.shares.get(line.line_id)
            got, reason = self._serve_line(line, picks, line.quantity if share is None else share.quota)
            if got < line.quantity:
                if share is not None and got == share.quota:
                    reason = share.describe()
                shortfalls.append(Shortfall(line.line_id, line.item_id, line.quantity, got, reason, share=share))
        if shortfalls and not allow_partial:
            self._undo(picks)
            self.bases.pop(order.order_id, None)
            shortfalls = [Shortfall(s.line_id, s.item_id, s.requested, 0, s.reason, s.allocated, s.share)
                          for s in shortfalls]
            return [], OrderOutcome(
                order.order_id, OutcomeStatus.SKIPPED, shortfalls=shortfalls,
                reason=NOT_EVERY_LINE,
            )
        quantity = 0
        amount = Decimal("0.00")
        for pick in picks:
            quantity += pick.quantity
            amount += pick.amount
        if not shortfalls:
            status = OutcomeStatus.ALLOCATED
        elif quantity + already > 0:
            status = OutcomeStatus.PARTIAL
        else:
            status = OutcomeStatus.NOT_ALLOCATED
        reason = shortfalls[0].reason if shortfalls else ("" if served_any else ALREADY_ALLOCATED)
        return picks, OrderOutcome(order.order_id, status, quantity, amount, shortfalls, reason)

    def _serve_line(self, line: LineDemand, picks: list[Pick], quantity: int) -> tuple[int, str]:
        """Append picks of up to `quantity` for the line to `picks`; return the quantity found and why not more."""
        book = self.books.get(line.item_id)
        if self.method.named_lot_only:
            candidates, reason = self._named_lot(line)
        elif book is None:
            return 0, NOT_ENOUGH_STOCK
        else:
            candidates, reason = self._candidates(book), NOT_ENOUGH_STOCK
        if book is None or not candidates or quantity <= 0:
            return 0, reason
        cost = None if self.method.costing == "lot" else self._line_cost(book, line)
        final = not self.method.provisional
        available = book.available
        wanted = quantity
        line_id, order_id, item_id = line.line_id, line.order_id, line.item_id
        for lot in candidates:
            free = available[lot.id]
            if free <= 0:
                continue
            take = free if free < wanted else wanted
            unit_cost = lot.unit_cost if cost is None else cost
            amount = (take * unit_cost).quantize(MONEY_PLACES, ROUND_HALF_UP)
            picks.append(Pick(line_id, order_id, item_id, lot.id, take, unit_cost, amount, final))
            book.take(lot, take)
            wanted -= take
            if wanted == 0:
                break
        return quantity - wanted, reason

    @staticmethod
    def _candidates(book: _ItemBook) -> list[LotSnapshot]:
        """Return the book's lots from the first one with anything left (the ones before it are spent)."""
        lots, available, start = book.lots, book.available, book.start
        while start < len(lots) and available[lots[start].id] <= 0:
            start += 1
        book.start = start
        return lots[start:]

    def _named_lot(self, line: LineDemand) -> tuple[list[LotSnapshot], str]:
        if line.lot_id is None:
            return [], NO_LOT_NAMED
        lot = self.lots_by_id.get(line.lot_id)
        if lot is None:
            return [], NAMED_LOT_UNAVAILABLE
        label = lot.reference or f"#{lot.id}"
        if lot.item_id != line.item_id:
            return [], f"lot {label} is of another item"
        if lot.is_expired(self.as_of):
            return [], f"lot {label} is expired"
        if not lot.is_in_stock(self.as_of) and not self.allow_inbound:
            return [], f"lot {label} is not received yet"
        book = self.books.get(line.item_id)
        if book is None or lot.id not in book.available:
            return [], f"lot {label} has nothing available"
        return [lot], f"not enough stock in lot {label}"

    def _line_cost(self, book: _ItemBook, line: LineDemand) -> Decimal | None:
        if self.method.costing == "average":
            cost = book.average()
            if cost is not None:
                self.bases.setdefault(line.order_id, {})[line.line_id] = (book.stock_value, book.stock_qty, book, book.start)
            return cost
        if self.method.costing == "item":
            return self.item_costs.get(line.item_id)
        return None

    def _undo(self, picks: list[Pick]) -> None:
        for pick in picks:
            self.books[pick.item_id].put_back(self.lots_by_id[pick.lot_id], pick.quantity)


def basis_of(raw: tuple) -> Basis:
    """Return the Basis a line was averaged over from what the allocator kept (`Allocator.bases`): the lots in
    stock from where the item's lots began at that line (an average method takes them oldest first, so those
    after were all untouched), the first LOTS_NAMED of them by name."""
    value, quantity, book, start = raw
    value = book.value_of(value)
    named: list[str] = []
    for lot in book.lots[start:]:
        if lot.id not in book.in_stock:
            break
        if len(named) == LOTS_NAMED:
            return Basis(value, quantity, tuple(named), True)
        named.append(lot.reference or f"#{lot.id}")
    return Basis(value, quantity, tuple(named))


def bases_json(bases: dict[int, tuple], names: dict) -> str:
    """Return lines' raw bases (`Allocator.bases`) as the JSON an outcome keeps ({line: [value, quantity, [lots],
    more lots]}, as `Basis.as_json`), written by hand: a big AVERAGE run has one per line, and the lots named
    are the same for every line that began at the same lot (`names` caches them for the run, by book and lot)."""
    parts = []
    append = parts.append
    for line, raw in bases.items():
        value, quantity, book, start = raw
        by_start = names.get(book)
        if by_start is None:
            by_start = names[book] = {}
        named = by_start.get(start)
        if named is None:
            basis = basis_of(raw)
            lots = json.dumps(list(basis.lots), ensure_ascii=False)
            named = by_start[start] = f"{lots},{'true' if basis.more_lots else 'false'}"
        # the value as its Decimal would print (exponent -4), written from the int without making one
        if book.costs is None:
            append(f'"{line}":["{value}",{quantity},{named}]')
        elif value >= 0:
            append(f'"{line}":["{value // 10000}.{value % 10000:04d}",{quantity},{named}]')
        else:
            append(f'"{line}":["-{-value // 10000}.{-value % 10000:04d}",{quantity},{named}]')
    return "{" + ",".join(parts) + "}"


def allocate(
    method: str | AllocationMethod,
    orders: Iterable[OrderDemand],
    lots: Iterable[LotSnapshot],
    *,
    as_of: date,
    allow_partial: bool = True,
    allow_inbound: bool = True,
    item_costs: Mapping[int, Decimal | None] | None = None,
    progress: Callable[[int], None] | None = None,
    rations: bool = False,
) -> Plan:
    """Serve `orders` in the order given from `lots` and return every pick and outcome.

    With `rations` (policy fair_share), scarce items are first shared between the orders' lines pro rata.
    """
    spec = method if isinstance(method, AllocationMethod) else get_method(method)
    allocator = Allocator(spec, lots, as_of=as_of, allow_inbound=allow_inbound, item_costs=item_costs)
    if rations:
        orders = list(orders)
        allocator.ration(orders)
    plan = Plan()
    for order in orders:
        picks, outcome = allocator.serve(order, allow_partial=allow_partial)
        plan.picks += picks
        plan.outcomes.append(outcome)
        if progress is not None:
            progress(1)
    plan.bases = allocator.bases
    return plan
