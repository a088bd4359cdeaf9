"""Reads that span rows: item histories, per-item costs, who holds a lot."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from allocation.domain import fraction_to_cost
from allocation.history import RECEIPT, StockEvent, issue_events, month_start, year_start
from allocation.methods import AllocationMethod
from allocation.models import AllocationResult, ClosedPeriod
from allocation.sql import batch_size, chunked
from stock.models import Lot


def period_start_function():
    """Return the function mapping a date to the start of its total-average period."""
    return year_start if settings.ALLOCATION_PERIOD == "year" else month_start


def period_label(day: date) -> str:
    """Return the total-average period that holds `day` as it is written: "2026-01" (or "2026" by year)."""
    start = period_start_function()(day)
    return f"{start:%Y}" if settings.ALLOCATION_PERIOD == "year" else f"{start:%Y-%m}"


def item_histories(item_ids: Iterable[int], at: date | None = None) -> dict[int, list[StockEvent]]:
    """Return every item's stock events (receipts, issues, releases), optionally up to `at`."""
    events: dict[int, list[StockEvent]] = defaultdict(list)
    tz = timezone.get_current_timezone()
    for chunk in chunked(sorted(set(item_ids)), batch_size()):
        lots = Lot.objects.filter(item_id__in=chunk, received_on__isnull=False)
        if at is not None:
            lots = lots.filter(received_on__lte=at)
        for item_id, received_on, quantity, unit_cost in lots.values_list("item_id", "received_on", "quantity", "unit_cost"):
            events[item_id].append(StockEvent(received_on, RECEIPT, quantity, unit_cost))
        results = AllocationResult.objects.filter(lot__item_id__in=chunk, lot__received_on__isnull=False)
        if at is not None:
            results = results.filter(allocation_date__lte=at, lot__received_on__lte=at)
        # One row per item, issue day and release day (the database sums the picks of a day: a run's thousands of
        # picks of one item are one issue), the same events issue_events makes of each pick.
        rows = results.annotate(issued=Greatest("allocation_date", "lot__received_on")).values_list(
            "lot__item_id", "issued", "released_at").annotate(quantity=Sum("allocated_quantity")).order_by()
        for item_id, issued, released_at, quantity in rows:
            released_on = timezone.localtime(released_at, tz).date() if released_at else None
            events[item_id] += issue_events(quantity, issued, issued, released_on)
    return events


def item_receipts(item_ids: Iterable[int], at: date) -> dict[int, list[StockEvent]]:
    """Return each item's receipts up to `at` (its lots received by then), by date, then lot id."""
    events: dict[int, list[StockEvent]] = defaultdict(list)
    for chunk in chunked(sorted(set(item_ids)), batch_size()):
        rows = (
            Lot.objects.filter(item_id__in=chunk, received_on__isnull=False, received_on__lte=at)
            .order_by("item_id", "received_on", "id").values_list("item_id", "received_on", "quantity", "unit_cost")
        )
        for item_id, received_on, quantity, unit_cost in rows:
            events[item_id].append(StockEvent(received_on, RECEIPT, quantity, unit_cost))
    return events


HISTORIES = {"receipts": item_receipts, "full": item_histories}


def item_costs(method: AllocationMethod, item_ids: Iterable[int], at: date, *,
               final: bool = False) -> dict[int, Decimal | None]:
    """Return the unit cost a method hands out per item at `at` (None: each lot's own), from the history
    its spec asks for; `final` for the close of the period holding `at`."""
    if method.costing != "item":
        return {}
    # A close needs every movement up to the period's end (`at`), whatever the method reads for a run; nothing later
    # counts in the period's figure, so nothing later is read.
    histories = item_histories(item_ids, at) if final else HISTORIES[method.item_history](item_ids, at)
    start = period_start_function()
    costs: dict[int, Decimal | None] = {}
    for item_id in set(item_ids):
        figure = method.item_cost(histories.get(item_id, []), at, start, final)
        costs[item_id] = fraction_to_cost(figure) if isinstance(figure, Fraction) else figure
    return costs


def closed_period_covering(day: date) -> ClosedPeriod | None:
    """Return the earliest closed period ending on or after `day`: the books of `day` are closed."""
    return ClosedPeriod.objects.filter(end__gte=day).order_by("start").first()


def lot_holders(lot_id: int) -> list[str]:
    """Return the order numbers holding active allocations on a lot."""
    return list(
        AllocationResult.objects.active().filter(lot_id=lot_id)
        .order_by("order__order_number").values_list("order__order_number", flat=True).distinct()
    )
