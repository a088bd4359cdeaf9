"""Services that write orders: create with lines, edit, delete; never under active allocations."""
from __future__ import annotations

from django.db import transaction

from allocation.domain import Conflict, InvalidInput
from orders.models import Order, OrderLine


def order_create(*, lines: list[dict], user=None, **fields: object) -> Order:
    """Create an order and its lines (each a dict of OrderLine fields) in one transaction."""
    with transaction.atomic():
        order = Order.objects.create(**fields)
        for line in lines:
            OrderLine.objects.create(order=order, **{k: v for k, v in line.items() if k != "id"})
    return order


def order_update(*, order: Order, lines: list[dict] | None = None, user=None, **fields: object) -> Order:
    """Change an order's fields and, if `lines` is given, make its lines these.

    Lines with an `id` are changed, lines without are added, the others are
    removed. Refused (409) while the order holds active allocations: release
    first. A line with allocation history keeps its item and cannot be removed.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        _refuse_if_allocated(locked)
        if lines is not None:
            _replace_lines(locked, lines)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save()
    return locked


def order_delete(*, order: Order, user=None) -> None:
    """Delete an order with no allocations (an order with allocation history is protected: 409)."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        _refuse_if_allocated(locked)
        locked.delete()


def _refuse_if_allocated(order: Order) -> None:
    if order.allocation_results.filter(released_at__isnull=True).exists():
        raise Conflict(
            f"Order {order.order_number} holds allocations; release them first "
            f"(POST /api/v1/orders/{order.pk}/release/).",
            order=order.order_number,
        )


def _replace_lines(order: Order, lines: list[dict]) -> None:
    existing = {line.pk: line for line in order.lines.all()}
    with_history = set(order.allocation_results.values_list("order_line_id", flat=True))
    kept = set()
    for data in lines:
        data = dict(data)
        line_id = data.pop("id", None)
        if line_id is None:
            OrderLine.objects.create(order=order, **data)
            continue
        line = existing.get(line_id)
        if line is None:
            raise InvalidInput(f"Line {line_id} is not a line of order {order.order_number}.", field="lines")
        if line_id in with_history and data.get("item", line.item) != line.item:
            raise Conflict(f"Line {line_id} has allocation history; its item cannot change.", line=line_id)
        for name, value in data.items():
            setattr(line, name, value)
        line.save()
        kept.add(line_id)
    removed = sorted(set(existing) - kept)
    if blocked := sorted(set(removed) & with_history):
        raise Conflict(
            f"Lines {', '.join(map(str, blocked))} have allocation history and cannot be removed; keep them by id.",
            lines=blocked,
        )
    OrderLine.objects.filter(pk__in=removed).delete()
