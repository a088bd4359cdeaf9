"""Plan a run: read and lock what it needs, rank its orders by the policy, serve them by the method.

The reads are `allocation.loads` (SQL); the deciding is the pure engine (`allocation.allocator`,
`allocation.methods`, `allocation.policies`). What a method or a policy needs beyond the run's orders,
lines and lots (per-item costs from a history, the customers' history) is read here because its spec
asks for it, never because of its name.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from django.conf import settings

from allocation import loads
from allocation.allocator import allocate
from allocation.domain import (
    CANCELLED,
    ORDERED_LATER,
    LineDemand,
    LotSnapshot,
    OrderDemand,
    OrderOutcome,
    OutcomeStatus,
    Plan,
    Shortfall,
)
from allocation.methods import AllocationMethod, get_method
from allocation.models import AllocationRun
from allocation.policies import CUSTOMER_HISTORY, PolicyInputs, get_policy
from allocation.scores import customer_history_parts
from allocation.selectors import item_costs
from allocation.sql import batch_size, chunked
from orders.models import OrderStatus

Progress = Callable[[int], None]

# What a policy may ask for beyond the run's own data (its spec's `needs`), and how it is read.
POLICY_DATA: dict[str, Callable[[list[loads.OrderRow], date], dict]] = {
    CUSTOMER_HISTORY: lambda orders, as_of: customer_history_parts(
        sorted({o.customer_id for o in orders if o.customer_id is not None}), today=as_of),
}


@dataclass
class Demands:
    """The open quantity of the run's orders, line by line, and what it needs read next."""

    per_order: dict[int, list[LineDemand]] = field(default_factory=lambda: defaultdict(list))
    ordered: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    allocated: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    items: set[int] = field(default_factory=set)
    named_lots: set[int] = field(default_factory=set)


def _lines(order_ids: list[int] | None) -> Iterator[tuple[int, int, int, int, int | None, int]]:
    """Yield (id, order, item, quantity, named lot, actively allocated) of the orders' lines."""
    if order_ids is None:
        yield from loads.lines(None)
        return
    for chunk in chunked(order_ids, batch_size()):
        yield from loads.lines(chunk)


def read_demands(order_ids: list[int] | None, orders: dict[int, loads.OrderRow], serving: set[int],
                 method: AllocationMethod, rows: list[tuple] | None = None) -> Demands:
    """Read the lines of the orders, unless given as `rows` (only those in `orders` count); the `serving` ones
    need their lots."""
    demands = Demands()
    ordered, allocated, per_order, items = demands.ordered, demands.allocated, demands.per_order, demands.items
    named_only = method.named_lot_only
    for line_id, order_id, item_id, quantity, lot_id, done in _lines(order_ids) if rows is None else rows:
        if order_id not in orders:  # an order that became open after the orders were read
            continue
        ordered[order_id] += quantity
        allocated[order_id] += done
        per_order[order_id].append(LineDemand(line_id, order_id, item_id, quantity - done, lot_id, quantity))
        if quantity > done and order_id in serving:
            items.add(item_id)
            if lot_id is not None and named_only:
                demands.named_lots.add(lot_id)
    return demands


def read_lots(item_ids: set[int], named: set[int], as_of: date, *, allow_inbound: bool, lock: bool,
              rows: list[tuple] | None = None) -> list[LotSnapshot]:
    """Read (and lock) the usable lots of the items, unless given as `rows`, and the named lots the run cannot use
    (to say why)."""
    if rows is None:
        rows = []
        for chunk in chunked(sorted(item_ids), batch_size()):
            rows += loads.lots(chunk, as_of, allow_inbound=allow_inbound, lock=lock)
    seen = {row[0] for row in rows}
    for chunk in chunked(sorted(named - seen), batch_size()):
        rows += loads.lots(None, as_of, allow_inbound=allow_inbound, lock=False, ids=chunk)
    return [
        LotSnapshot(lot_id, item_id, quantity - allocated, cost, received, eta, expires, reference)
        for lot_id, item_id, quantity, allocated, cost, received, eta, expires, reference in rows
    ]


def _ordered_later(order_id: int, lines: list[LineDemand]) -> OrderOutcome:
    """Return the outcome of an order placed after the run's date: skipped, every open line short."""
    shortfalls = [Shortfall(d.line_id, d.item_id, d.quantity, 0, ORDERED_LATER) for d in lines if d.quantity > 0]
    return OrderOutcome(order_id, OutcomeStatus.SKIPPED, shortfalls=shortfalls, reason=ORDERED_LATER)


class Planned(NamedTuple):
    """What `plan_run` returns: the run's orders as read, the plan, the orders' new statuses and, when the lots
    were read without locking them, those the plan takes from, as read (lot id -> snapshot)."""

    orders: list[loads.OrderRow]
    plan: Plan
    statuses: dict[int, str]
    seen: dict[int, LotSnapshot] | None = None


def plan_run(run: AllocationRun, *, lock: bool, progress: Progress | None, lock_lots: bool = True) -> Planned:
    """Load and lock what the run needs, serve the orders in policy order; return them, the plan and new statuses.

    With `lock_lots` off the orders are locked but the lots are only read: the run's writes then add to a lot
    only while it is as read (`Planned.seen`, see `allocation.writes.LotsMoved`).
    An order placed after the allocation date did not exist at D: it takes nothing (ALLOCATION.md).
    """
    method, policy, order_ids = get_method(run.method), get_policy(run.policy), run.requested_orders
    line_rows = lot_rows = None
    if lock and not lock_lots and order_ids is not None:  # a few orders on unlocked lots: one round trip reads all
        orders, line_rows, lot_rows = loads.few_orders(order_ids, run.as_of, allow_inbound=run.allow_inbound)
    else:
        orders = loads.order_rows(order_ids, lock=lock)
    live = [o for o in orders if o.status != OrderStatus.CANCELLED]
    later = {o.id for o in live if o.order_date > run.as_of}
    serving = [o for o in live if o.id not in later]
    read_ids = None if order_ids is None else [o.id for o in live]
    demands = (read_demands(read_ids, {o.id: o for o in orders}, {o.id for o in serving}, method, line_rows)
               if live else Demands())
    if order_ids is None:  # every open order: one partly shipped with nothing left to allocate is not among them
        serving = [o for o in serving if o.status != OrderStatus.PARTIALLY_SHIPPED
                   or any(line.quantity > 0 for line in demands.per_order.get(o.id, ()))]
    lots = read_lots(demands.items, demands.named_lots, run.as_of, allow_inbound=run.allow_inbound,
                     lock=lock and lock_lots, rows=lot_rows) if demands.items else []
    inputs = PolicyInputs(run.as_of, demands.per_order, lots, settings.ALLOCATION_SCORE_WEIGHTS,
                          {need: POLICY_DATA[need](serving, run.as_of) for need in policy.needs})
    plan = allocate(
        method, (OrderDemand(o.id, tuple(demands.per_order.get(o.id, ()))) for o in policy.rank(serving, inputs)),
        lots, as_of=run.as_of, allow_partial=run.allow_partial, allow_inbound=run.allow_inbound,
        item_costs=item_costs(method, demands.items, run.as_of) if demands.items else {}, progress=progress,
        rations=policy.rations,
    )
    plan.outcomes += [_ordered_later(order_id, demands.per_order[order_id]) for order_id in sorted(later)]
    plan.outcomes += [OrderOutcome(o.id, OutcomeStatus.SKIPPED, reason=CANCELLED)
                      for o in orders if o.status == OrderStatus.CANCELLED]
    seen = None
    if lock and not lock_lots:
        taken = {pick.lot_id for pick in plan.picks}
        seen = {lot.id: lot for lot in lots if lot.id in taken}
    return Planned(orders, plan, _statuses(serving, demands, plan), seen)


def _statuses(serving: list[loads.OrderRow], demands: Demands, plan: Plan) -> dict[int, str]:
    """Return the new status of each served order whose status changes (a partly shipped order stays so)."""
    for pick in plan.picks:
        demands.allocated[pick.order_id] += pick.quantity
    return {o.id: status for o in serving if o.status != OrderStatus.PARTIALLY_SHIPPED
            and (status := OrderStatus.derive(demands.ordered[o.id], demands.allocated[o.id])) != o.status}
