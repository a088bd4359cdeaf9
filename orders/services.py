"""Services that write customers, payments, orders and their lines. Every door writes through them.

An order that holds active allocations cannot be changed or deleted (release
it first); a line with allocation history keeps its item and cannot be
removed; an order with allocation history is cancelled, never deleted.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext

from allocation.domain import Conflict, InvalidInput
from inventory_alloc.records import Writes, record_apply, record_create, record_delete, record_lock, refuse_unknown
from orders.models import Customer, Order, OrderLine, OrderStatus, Payment

CUSTOMER_FIELDS = {"code", "name", "email", "phone", "address", "notes", "credit_limit", "credit_period_days", "is_active"}
PAYMENT_FIELDS = {"customer", "customer_id", "amount", "due_date", "paid_on", "status"}
ORDER_FIELDS = {"order_number", "customer", "customer_id", "order_date", "priority", "note"}
LINE_FIELDS = {"id", "item", "quantity", "unit_price", "lot"}


# --- customers and payments -------------------------------------------------------------

def customer_create(*, user=None, **fields: object) -> Customer:
    with transaction.atomic():
        return record_create(Customer, fields, CUSTOMER_FIELDS)


def customer_update(*, customer: Customer, user=None, **changes: object) -> Customer:
    refuse_unknown(changes, CUSTOMER_FIELDS)
    with transaction.atomic():
        return record_apply(record_lock(customer), changes)


def customer_delete(*, customer: Customer, user=None, dry_run: bool = False) -> None:
    """Delete a customer with no orders and no payments; otherwise 409: mark it inactive instead."""
    with transaction.atomic():
        locked = record_lock(customer)
        refused = f"Customer {locked.code} has orders or payments and cannot be deleted; mark it inactive instead."
        if locked.orders.exists() or locked.payments.exists():
            raise Conflict(refused, customer=locked.code)
        record_delete(locked, refused, dry_run=dry_run)


def payment_create(*, user=None, **fields: object) -> Payment:
    with transaction.atomic():
        return record_create(Payment, fields, PAYMENT_FIELDS)


def payment_update(*, payment: Payment, user=None, **changes: object) -> Payment:
    refuse_unknown(changes, PAYMENT_FIELDS)
    with transaction.atomic():
        return record_apply(record_lock(payment), changes)


def payment_delete(*, payment: Payment, user=None, dry_run: bool = False) -> None:
    with transaction.atomic():
        record_delete(record_lock(payment), "Other records refer to this payment.", dry_run=dry_run)


# --- orders and lines ---------------------------------------------------------------------

def order_create(*, lines: Sequence[dict] = (), user=None, **fields: object) -> Order:
    """Create an order and its lines (each a dict of OrderLine fields: item, quantity, unit_price, lot)."""
    with transaction.atomic():
        order = record_create(Order, fields, ORDER_FIELDS)
        _save_lines(order, lines, replace=False, new_order=True)
    return order


def order_update(*, order: Order, lines: Sequence[dict] | None = None, user=None, **fields: object) -> Order:
    """Change an order's fields and, if `lines` is given, make its lines these.

    Lines with an `id` are changed, lines without are added, the others are
    removed. Refused (409) while the order holds active allocations: release
    first. A line with allocation history keeps its item and cannot be removed.
    """
    refuse_unknown(fields, ORDER_FIELDS)
    with transaction.atomic():
        locked = record_lock(order)
        refuse_change(locked)
        stamp = locked.updated_at
        record_apply(locked, fields)
        if lines is not None and _save_lines(locked, lines, replace=True) and locked.updated_at == stamp:
            locked.save(update_fields=["updated_at"])  # its lines changed: so did the order
    return locked


def order_lines_save(*, order: Order, lines: Sequence[dict], user=None) -> Order:
    """Add lines to an order or change those given by `id`, keeping the others (the order import)."""
    with transaction.atomic():
        locked = record_lock(order)
        refuse_change(locked)
        _save_lines(locked, lines, replace=False)
    return locked


def order_delete(*, order: Order, user=None, dry_run: bool = False) -> None:
    """Delete an order with no allocations; one with allocation history is cancelled instead (409)."""
    with transaction.atomic():
        locked = record_lock(order)
        refuse_if_allocated(locked)
        refused = gettext("Order %(number)s has allocation history (released allocations) and cannot be deleted.") % {
            "number": locked.order_number}
        if locked.status != OrderStatus.CANCELLED:
            refused += " " + gettext("Cancel it instead.")
        if locked.allocation_results.exists():
            raise Conflict(refused, order=locked.order_number)
        record_delete(locked, refused, dry_run=dry_run)


CUSTOMER_WRITES = Writes("customer", customer_create, customer_update, customer_delete)
PAYMENT_WRITES = Writes("payment", payment_create, payment_update, payment_delete)
ORDER_WRITES = Writes("order", order_create, order_update, order_delete)


def allocated_units(order: Order) -> int:
    """Return the units the order's active allocations hold."""
    return order.allocation_results.filter(released_at__isnull=True).aggregate(q=Sum("allocated_quantity"))["q"] or 0


def held_message(order: Order, units: int) -> str:
    return gettext("Order %(number)s holds allocations for %(units)s units: release them first.") % {
        "number": order.order_number, "units": units}


def refuse_change(order: Order) -> None:
    """Raise Conflict if the order may not change: it is cancelled, or holds active allocations."""
    if order.status == OrderStatus.CANCELLED:
        raise Conflict(gettext("Order %(number)s is cancelled; it cannot be changed.") % {"number": order.order_number},
                       order=order.order_number)
    refuse_if_allocated(order)


def refuse_if_allocated(order: Order) -> None:
    """Raise Conflict if the order holds active allocations (its lines are the allocation's)."""
    units = allocated_units(order)
    if units:
        raise Conflict(held_message(order, units), order=order.order_number, allocated=units,
                       release=f"/api/v1/orders/{order.pk}/release/")


def _save_lines(order: Order, lines: Sequence[dict], *, replace: bool, new_order: bool = False) -> bool:
    """Validate the lines in memory, then change, add (one bulk insert) and, if `replace`, remove lines.

    Return whether any line was added, changed or removed.
    """
    loaded = replace or any(d.get("id") for d in lines)
    existing = {line.pk: line for line in order.lines.all()} if loaded else {}
    with_history = set(order.allocation_results.values_list("order_line_id", flat=True)) if existing else set()
    new: list[OrderLine] = []
    changed: list[OrderLine] = []
    kept: set[int] = set()
    for index, data in enumerate(lines):
        refuse_unknown(data, LINE_FIELDS)
        data = dict(data)
        line_id = data.pop("id", None)
        if line_id is None:
            new.append(_valid_line(OrderLine(order=order, **data), index))
            continue
        line = existing.get(line_id)
        if line is None:
            raise InvalidInput(f"Line {line_id} is not a line of order {order.order_number}.", field="lines")
        if line_id in with_history and "item" in data and data["item"].pk != line.item_id:
            raise Conflict(f"Line {line_id} has allocation history; its item cannot change.", line=line_id)
        before = (line.item_id, line.quantity, line.unit_price, line.lot_id)
        for name, value in data.items():
            setattr(line, name, value)
        _valid_line(line, index)
        if (line.item_id, line.quantity, line.unit_price, line.lot_id) != before:
            changed.append(line)
        kept.add(line_id)
    removed = sorted(set(existing) - kept) if replace else []
    if removed:
        if blocked := sorted(set(removed) & with_history):
            raise Conflict(
                f"Lines {', '.join(map(str, blocked))} have allocation history and cannot be removed; keep them by id.",
                lines=blocked,
            )
        OrderLine.objects.filter(pk__in=removed).delete()
    if changed:
        OrderLine.objects.bulk_update(changed, ["item", "quantity", "unit_price", "lot"])
    before = len(existing) if loaded else 0 if new_order else order.lines.count()
    count = before - len(removed) + len(new)
    if count > settings.ORDER_MAX_LINES:
        raise InvalidInput(f"An order holds at most {settings.ORDER_MAX_LINES} lines (ORDER_MAX_LINES); "
                           f"order {order.order_number} would have {count}.", field="lines")
    if new:
        OrderLine.objects.bulk_create(new)
    return bool(removed or changed or new)


def _valid_line(line: OrderLine, index: int) -> OrderLine:
    """Check a line without a query per line: a whole positive quantity, a lot of the line's item, a price."""
    item, lot = line.item, line.lot
    where = f"Line {index + 1}"
    if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity <= 0:
        raise InvalidInput(f"{where}: the quantity must be a whole number above zero.", field="lines")
    if lot is not None and lot.item_id != item.pk:
        raise InvalidInput(f"{where}: lot {lot.reference} is not a lot of item {item.item_code}.", field="lines")
    if line.unit_price is None:
        line.unit_price = item.unit_price
    elif line.unit_price < 0:
        raise InvalidInput(f"{where}: the unit price cannot be negative.", field="lines")
    return line
