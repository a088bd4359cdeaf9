"""Services that write customers, payments, orders and their lines. Every door writes through them.

A cancelled order does not change; a customer with orders or payments is not deleted. The rules other
apps hold about orders (allocation: an order holding allocations does not change, one with allocation
history is never deleted, a line with history keeps its item) are lent to these services through
`order_extensions` (see `inventory_alloc.records.Extensions`), so orders never imports allocation.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from inventory_alloc.errors import Conflict, InvalidInput
from inventory_alloc.records import (
    Extensions,
    Writes,
    record_apply,
    record_create,
    record_delete,
    record_lock,
    refuse_unknown,
)
from orders.models import Customer, Order, OrderLine, OrderStatus, Payment

CUSTOMER_FIELDS = {"code", "name", "email", "phone", "address", "notes", "credit_limit", "credit_period_days", "is_active"}
PAYMENT_FIELDS = {"customer", "customer_id", "amount", "due_date", "paid_on", "status"}
ORDER_FIELDS = {"order_number", "customer", "customer_id", "order_date", "priority", "note"}

# Refusals "change" (order=), "delete" (order=) and "lines" (order=, removed=, moved=); answer "lock" (order=).
order_extensions = Extensions("orders.Order")
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
    removed. Refused (409) for a cancelled order, and as other apps say
    (allocation: while the order holds allocations; a line with allocation
    history keeps its item and stays).
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
    """Delete an order, unless another app refuses (allocation: it holds allocations, or had them)."""
    with transaction.atomic():
        locked = record_lock(order)
        order_extensions.refuse("delete", order=locked)
        record_delete(locked, gettext("Other records refer to order %(number)s; it cannot be deleted.") % {
            "number": locked.order_number}, dry_run=dry_run)


CUSTOMER_WRITES = Writes("customer", customer_create, customer_update, customer_delete)
PAYMENT_WRITES = Writes("payment", payment_create, payment_update, payment_delete)
def order_lines_held(order: Order) -> list[tuple]:
    """Return what an order's lines hold: how the history tells that an update changed them."""
    return list(order.lines.order_by("pk").values_list("pk", "item_id", "quantity", "unit_price", "lot_id"))


ORDER_WRITES = Writes("order", order_create, order_update, order_delete, related={"lines": order_lines_held})


def order_lock(order: Order) -> str | None:
    """Return why the order may not change now (another app holds it), or None."""
    return order_extensions.ask("lock", None, order=order)


def refuse_change(order: Order) -> None:
    """Raise Conflict if the order may not change: it is cancelled, or another app refuses."""
    if order.status == OrderStatus.CANCELLED:
        raise Conflict(gettext("Order %(number)s is cancelled; it cannot be changed.") % {"number": order.order_number},
                       order=order.order_number)
    order_extensions.refuse("change", order=order)


def _save_lines(order: Order, lines: Sequence[dict], *, replace: bool, new_order: bool = False) -> bool:
    """Validate the lines in memory, then change, add (one bulk insert) and, if `replace`, remove lines.

    Return whether any line was added, changed or removed.
    """
    loaded = replace or any(d.get("id") for d in lines)
    existing = {line.pk: line for line in order.lines.all()} if loaded else {}
    new: list[OrderLine] = []
    changed: list[OrderLine] = []
    kept: set[int] = set()
    moved: set[int] = set()  # lines whose item changes
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
        before = (line.item_id, line.quantity, line.unit_price, line.lot_id)
        for name, value in data.items():
            setattr(line, name, value)
        _valid_line(line, index)
        if (line.item_id, line.quantity, line.unit_price, line.lot_id) != before:
            changed.append(line)
            if line.item_id != before[0]:
                moved.add(line_id)
        kept.add(line_id)
    removed = sorted(set(existing) - kept) if replace else []
    if removed or moved:
        order_extensions.refuse("lines", order=order, removed=removed, moved=sorted(moved))
    if removed:
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
