"""Services that give stock back: release allocations, cancel orders.

Like a run, a release locks the orders it touches and then the lots, in
primary-key order; results keep their row and get `released_at`. A pick that
has shipped (even in part) has left the warehouse: it is never released, and
an order with shipped goods is not cancelled. Each order released writes an
`allocation.released` event, each order cancelled an `order.cancelled` one.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from allocation import loads, writes
from allocation.events import NewEvent, events_record
from allocation.models import AllocationResult, EventType
from allocation.sql import batch_size, chunked
from inventory_alloc.errors import Conflict, InvalidInput, NotFound
from inventory_alloc.history import history_record_many
from orders.models import SHIPPED_STATUSES, Order, OrderLine, OrderStatus
from stock.models import Lot


@dataclass
class ReleaseReport:
    released: int
    quantity: int
    result_ids: list[int]

    @classmethod
    def of(cls, rows: list[tuple[int, int, int, int]]) -> ReleaseReport:
        """Report released (id, order, lot, quantity) rows."""
        return cls(len(rows), sum(row[3] for row in rows), [row[0] for row in rows])


def allocation_release(
    *,
    order: Order | int | None = None,
    orders: Sequence | None = None,
    results: Sequence | None = None,
    lot: Lot | int | str | None = None,
    user=None,
) -> ReleaseReport:
    """Release active results: of an order (or orders), optionally on one lot, or the given ones.

    Quantity goes back to the lots; the results keep their row with `released_at`.
    """
    if order is None and orders is None and results is None and lot is None:
        raise InvalidInput("Say what to release: an order, results or a lot.", field="order")
    order_ids = loads.order_ids(([order] if order is not None else []) + list(orders or [])) or None
    if orders is not None and order_ids is None:  # an empty list names no order; it must not mean "all of them"
        raise InvalidInput("Name at least one order to release.", field="orders")
    lot_id = _lot_id(lot) if lot is not None else None
    result_ids = loads.order_ids(results) if results is not None else None
    with transaction.atomic():
        if order_ids:
            loads.order_rows(order_ids, lock=True)
        rows = _active_rows(order_ids, lot_id, result_ids)
        now = timezone.now()
        events_record(_release_rows(rows, user, now), now)
        orders_history(user, {order_id: f"Released {units} units." for order_id, units in _units(rows).items()})
    return ReleaseReport.of(rows)


def _units(rows: list[tuple[int, int, int, int]]) -> dict[int, int]:
    """Return the units of the (id, order, lot, quantity) rows per order."""
    units: dict[int, int] = defaultdict(int)
    for _, order_id, _, quantity in rows:
        units[order_id] += quantity
    return units


def orders_history(user, messages: dict[int, str]) -> None:
    """Enter a change of each order (`messages[order_id]`, in words) in the history, one INSERT per thousand."""
    if not messages:
        return
    numbers: dict[int, str] = {}
    for chunk in chunked(sorted(messages), batch_size()):
        numbers.update(Order.objects.filter(id__in=chunk).values_list("id", "order_number"))
    history_record_many(user, Order, [(pk, numbers.get(pk, str(pk)), text) for pk, text in sorted(messages.items())])


def _active_rows(order_ids: list[int] | None, lot_id: int | None, result_ids: list[int] | None) -> list[tuple]:
    """Return (id, order, lot, quantity) of the active results selected, their orders locked.

    `order_ids`, when given, must be locked by the caller already.
    """
    selected = AllocationResult.objects.all()
    if order_ids:
        selected = selected.filter(order_id__in=order_ids)
    if lot_id is not None:
        selected = selected.filter(lot_id=lot_id)
    if result_ids is not None:
        selected = selected.filter(id__in=result_ids)
        found = {rid: (at, shipped) for rid, at, shipped in selected.values_list("id", "released_at", "shipped_quantity")}
        if missing := sorted(set(result_ids) - set(found)):
            raise NotFound(f"No allocation result with id {', '.join(map(str, missing))}.", results=missing)
        if done := sorted(rid for rid, (at, _) in found.items() if at is not None):
            raise Conflict(f"Results {', '.join(map(str, done))} are already released.", results=done)
        if shipped := sorted(rid for rid, (_, quantity) in found.items() if quantity):
            raise Conflict(f"Results {', '.join(map(str, shipped))} are shipped; a shipped pick cannot be released.",
                           results=shipped)
    selected = selected.filter(released_at__isnull=True, shipped_quantity=0)
    rows = list(selected.values_list("id", "order_id", "lot_id", "allocated_quantity"))
    if not order_ids and rows:
        locked = {row[1] for row in rows}
        loads.order_rows(sorted(locked), lock=True)
        # Re-read under the orders' locks: a concurrent release may have released some rows meanwhile.
        fresh = selected.values_list("id", "order_id", "lot_id", "allocated_quantity")
        rows = [row for row in fresh if row[1] in locked]
    return rows


def _lot_id(lot: Lot | int | str) -> int:
    if isinstance(lot, Lot):
        return lot.pk
    if isinstance(lot, int):
        if not Lot.objects.filter(pk=lot).exists():
            raise NotFound(f"No lot with id {lot}.", lot=lot)
        return lot
    found = Lot.objects.filter(reference=lot).values_list("id", flat=True).first()
    if found is None:
        raise NotFound(f'No lot "{lot}".', lot=str(lot))
    return found


def _release_rows(rows: list[tuple[int, int, int, int]], user, now=None) -> list[NewEvent]:
    """Release the (id, order, lot, quantity) rows (their orders locked); return their events, one per order."""
    if not rows:
        return []
    deltas: dict[int, int] = defaultdict(int)
    for _, _, lot_id, quantity in rows:
        deltas[lot_id] -= quantity
    # NO KEY UPDATE, like a run: it still queues runs, releases, lot edits and deletes on
    # the lot, but lets order lines that name the lot be saved meanwhile.
    list(Lot.objects.select_for_update(no_key=True).filter(id__in=sorted(deltas)).order_by("id").values_list("id"))
    now = now or timezone.now()
    by = user if getattr(user, "pk", None) else None
    for chunk in chunked([row[0] for row in rows], batch_size()):
        AllocationResult.objects.filter(id__in=chunk).update(released_at=now, released_by=by)
    writes.add_lot_allocations(deltas)
    statuses = order_statuses_refresh(sorted({row[1] for row in rows}), now)
    return _released_events(rows, statuses)


def _released_events(rows: list[tuple[int, int, int, int]], statuses: dict[int, str]) -> list[NewEvent]:
    """Return one `allocation.released` event per order: the picks given back, with their lots."""
    picks: dict[int, list[dict]] = defaultdict(list)
    for chunk in chunked(sorted(row[0] for row in rows), batch_size()):
        for rid, order_id, line_id, code, lot_id, reference, quantity in (
                AllocationResult.objects.filter(id__in=chunk).order_by("id").values_list(
                    "id", "order_id", "order_line_id", "item__item_code", "lot_id", "lot__reference",
                    "allocated_quantity")):
            picks[order_id].append({"result": rid, "line": line_id, "item_code": code, "lot": lot_id,
                                    "lot_reference": reference, "quantity": quantity})
    return [NewEvent(EventType.RELEASED, {"status": statuses[order_id], "quantity": sum(p["quantity"] for p in given),
                                          "picks": given}, order_id=order_id)
            for order_id, given in sorted(picks.items())]


def order_statuses_refresh(order_ids: list[int], now=None) -> dict[int, str]:
    """Recompute the status of the given (not cancelled) orders from their active results; return every one's."""
    now = now or timezone.now()
    statuses, changed = {}, {}
    for chunk in chunked(order_ids, batch_size()):
        current = dict(Order.objects.filter(id__in=chunk).values_list("id", "status"))
        ordered = dict(
            OrderLine.objects.filter(order_id__in=chunk).values_list("order_id").annotate(q=Sum("quantity")).order_by()
        )
        held = {order_id: (allocated, shipped) for order_id, allocated, shipped in
                AllocationResult.objects.active().filter(order_id__in=chunk).values_list("order_id")
                .annotate(a=Sum("allocated_quantity"), s=Sum("shipped_quantity")).order_by()}
        for order_id, status in current.items():
            statuses[order_id] = status
            if status == OrderStatus.CANCELLED:
                continue
            new = OrderStatus.derive(ordered.get(order_id, 0), *held.get(order_id, (0, 0)))
            if new != status:
                statuses[order_id] = changed[order_id] = new
    writes.set_order_statuses(changed, now)
    return statuses


def order_cancel(*, order: Order | int | None = None, orders: Sequence | None = None, user=None) -> ReleaseReport:
    """Cancel an order (or many, all or nothing), releasing everything allocated to them."""
    order_ids = loads.order_ids(([order] if order is not None else []) + list(orders or []))
    if not order_ids:
        raise InvalidInput("Say which orders to cancel.", field="orders")
    with transaction.atomic():
        rows = loads.order_rows(order_ids, lock=True)
        if done := [row.number for row in rows if row.status == OrderStatus.CANCELLED]:
            raise Conflict(f"Order {', '.join(done[:20])} is already cancelled.", orders=done)
        if shipped := [row.number for row in rows if row.status in SHIPPED_STATUSES]:
            raise Conflict(f"Order {', '.join(shipped[:20])} has shipped goods and cannot be cancelled.", orders=shipped)
        released = _active_rows(order_ids, None, None)  # the orders are locked above
        now = timezone.now()
        events = _release_rows(released, user, now)
        for event in events:  # given back because the order is cancelled
            event.data["status"] = OrderStatus.CANCELLED
        for chunk in chunked(order_ids, batch_size()):
            Order.objects.filter(id__in=chunk).update(status=OrderStatus.CANCELLED, updated_at=now)
        given = defaultdict(int, _units(released))
        events_record(events + [NewEvent(EventType.CANCELLED, {"status": OrderStatus.CANCELLED,
                                                               "released": given[o.id]}, order_id=o.id) for o in rows],
                      now)
        orders_history(user, {o.id: f"Cancelled; released {given[o.id]} units." for o in rows})
    if isinstance(order, Order):
        order.status = OrderStatus.CANCELLED
    return ReleaseReport.of(released)
