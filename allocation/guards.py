"""Allocation's rules on the records of the apps below it, lent to their services (registered by
`AllocationConfig.ready`; see `inventory_alloc.records.Extensions`).

- A lot never holds less than is allocated from it, keeps its item while it has allocations, and is not
  deleted while allocated or with allocation history. Who holds a lot is answered here, and a change of
  its quantity or dates is recorded as a `lot.changed` event.
- An order holding active allocations does not change and is not deleted (release it first); an order
  with allocation history is never deleted (cancel it); a line with allocation history keeps its item
  and is not removed.
"""
from __future__ import annotations

from datetime import date

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from allocation.domain import LotOverAllocated
from allocation.events import NewEvent, events_record
from allocation.models import AllocationResult, EventType
from allocation.selectors import lot_holders
from inventory_alloc.errors import Conflict
from orders.models import Order, OrderStatus
from orders.services import order_extensions
from stock.models import Lot
from stock.services import lot_extensions

# --- lots -------------------------------------------------------------------------------------

@lot_extensions.refusal("change")
def lot_keeps_what_is_allocated(*, lot: Lot, changes: dict) -> None:
    quantity = changes.get("quantity", lot.quantity)
    if quantity is not None and int(quantity) < lot.allocated_quantity:
        raise LotOverAllocated(lot.reference, lot.allocated_quantity, lot_holders(lot.pk))
    if changes.get("item_id", lot.item_id) != lot.item_id and AllocationResult.objects.filter(lot=lot).exists():
        raise Conflict(f"Lot {lot.reference} has allocations; its item cannot change.", lot=lot.reference)


@lot_extensions.refusal("delete")
def lot_with_allocations_stays(*, lot: Lot) -> None:
    if lot.allocated_quantity:
        holders = lot_holders(lot.pk)
        raise LotOverAllocated(
            lot.reference, lot.allocated_quantity, holders,
            f"Lot {lot.reference} is allocated to orders {', '.join(holders)}; release them before deleting it.",
        )
    if AllocationResult.objects.filter(lot=lot).exists():
        raise Conflict(f"Lot {lot.reference} has allocation history and cannot be deleted.", lot=lot.reference)


@lot_extensions.answer("holders")
def holders_of(*, lot: Lot) -> list[str]:
    return lot_holders(lot.pk)


@lot_extensions.notice("changed")
def lot_changed_event(*, lot: Lot, before: dict) -> None:
    """Record a `lot.changed` event: what changed (from, to), and the lot's quantities as they are now."""
    def plain(value: object) -> object:
        return value.isoformat() if isinstance(value, date) else value

    changes = {name: {"from": plain(value), "to": plain(getattr(lot, name))}
               for name, value in before.items() if getattr(lot, name) != value}
    data = {"lot": {"id": lot.pk, "reference": lot.reference}, "item_code": lot.item.item_code, "changes": changes,
            "quantity": lot.quantity, "allocated_quantity": lot.allocated_quantity,
            "shipped_quantity": lot.shipped_quantity, "available_quantity": lot.available_quantity,
            "received_on": plain(lot.received_on), "eta": plain(lot.eta), "expires_on": plain(lot.expires_on)}
    events_record([NewEvent(EventType.LOT_CHANGED, data, lot_id=lot.pk)], timezone.now())


# --- orders -------------------------------------------------------------------------------------

def held_units(order: Order) -> tuple[int, int]:
    """Return the units the order's active allocations hold, and how many of them have shipped."""
    held = AllocationResult.objects.active().filter(order=order).aggregate(
        a=Sum("allocated_quantity"), s=Sum("shipped_quantity"))
    return held["a"] or 0, held["s"] or 0


def held_message(order: Order, units: int, shipped: int = 0) -> str:
    if shipped:  # shipped picks are never released: the order stays as it is for good
        return gettext("Order %(number)s has shipped %(shipped)s units; it can no longer change.") % {
            "number": order.order_number, "shipped": shipped}
    return gettext("Order %(number)s holds allocations for %(units)s units: release them first.") % {
        "number": order.order_number, "units": units}


@order_extensions.answer("lock")
def order_lock(*, order: Order) -> str | None:
    units, shipped = held_units(order)
    return held_message(order, units, shipped) if units else None


@order_extensions.refusal("change")
def order_holding_allocations_stays(*, order: Order) -> None:
    units, shipped = held_units(order)
    if units:
        more = {"shipped": shipped} if shipped else {"release": f"/api/v1/orders/{order.pk}/release/"}
        raise Conflict(held_message(order, units, shipped), order=order.order_number, allocated=units, **more)


@order_extensions.refusal("delete")
def order_with_allocation_history_stays(*, order: Order) -> None:
    order_holding_allocations_stays(order=order)
    if AllocationResult.objects.filter(order=order).exists():
        refused = gettext("Order %(number)s has allocation history (released allocations) and cannot be deleted.") % {
            "number": order.order_number}
        if order.status != OrderStatus.CANCELLED:
            refused += " " + gettext("Cancel it instead.")
        raise Conflict(refused, order=order.order_number)


@order_extensions.refusal("lines")
def lines_with_allocation_history_stay(*, order: Order, removed: list[int], moved: list[int]) -> None:
    history = set(AllocationResult.objects.filter(order_line_id__in=[*removed, *moved]).values_list(
        "order_line_id", flat=True))
    if blocked := sorted(history & set(moved)):
        raise Conflict(f"Line {blocked[0]} has allocation history; its item cannot change.", line=blocked[0])
    if blocked := sorted(history & set(removed)):
        raise Conflict(
            f"Lines {', '.join(map(str, blocked))} have allocation history and cannot be removed; keep them by id.",
            lines=blocked,
        )
