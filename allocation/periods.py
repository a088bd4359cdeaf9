"""Closing a total-average (総平均法) period: the true-up of its provisional costs."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from allocation.domain import PeriodClosed, PeriodNotEnded, amount_of
from allocation.events import NewEvent, events_record
from allocation.methods import get_method
from allocation.models import AllocationResult, ClosedPeriod, EventType
from allocation.selectors import item_costs, period_label, period_start_function
from allocation.sql import lock_closed_books
from inventory_alloc.dates import EARLIEST, LATEST, OUT_OF_RANGE
from inventory_alloc.errors import InvalidInput
from inventory_alloc.history import ADDITION, history_record


@dataclass(frozen=True, slots=True)
class Recosting:
    result_id: int
    order_number: str
    item_code: str
    lot: str
    quantity: int
    old_unit_cost: Decimal
    new_unit_cost: Decimal
    old_amount: Decimal
    new_amount: Decimal


@dataclass
class PeriodCloseReport:
    period: str
    start: date
    end: date
    averages: dict[str, str] = field(default_factory=dict)
    recosted: list[Recosting] = field(default_factory=list)
    closed: ClosedPeriod | None = None


def parse_period(period: str | date) -> tuple[str, date, date]:
    """Return (label, first day, last day) of a period given as 'YYYY-MM' (or 'YYYY' by year)."""
    by_year = settings.ALLOCATION_PERIOD == "year"
    if isinstance(period, date):
        start = period_start_function()(period)
    else:
        text = str(period).strip()
        match = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", text)
        if not match or (match.group(2) is None) != by_year:
            expected = "YYYY" if by_year else "YYYY-MM"
            raise InvalidInput(f'"{text}" is not a period; write it as {expected}.', field="period")
        year, month = int(match.group(1)), int(match.group(2) or 1)
        if not 1 <= month <= 12:
            raise InvalidInput(f'"{text}" is not a period.', field="period")
        if not EARLIEST.year <= year <= LATEST.year:
            raise InvalidInput(f'"{text}": {OUT_OF_RANGE}', field="period")
        start = date(year, month, 1)
    end = date(start.year, 12, 31) if by_year else date(start.year, start.month,
                                                          calendar.monthrange(start.year, start.month)[1])
    return period_label(start), start, end


def period_close(*, period: str | date, user=None, dry_run: bool = False) -> PeriodCloseReport:
    """Recompute the period's averages with all its receipts and re-cost its provisional picks.

    Refuses a period that has not ended or is already closed. Every provisional pick dated in the
    period (a method whose spec is `provisional`: the total average) gets the final cost its method
    gives with the whole period; the provisional cost and amount stay on the result. A dry run shows
    what would change.
    """
    label, start, end = parse_period(period)
    if end >= timezone.localdate():
        raise PeriodNotEnded(label)
    with transaction.atomic():
        if not dry_run:
            lock_closed_books(exclusive=True)
        if ClosedPeriod.objects.filter(start=start).exists():
            raise PeriodClosed(label, f"Period {label} is already closed.")
        selected = AllocationResult.objects.filter(cost_final=False, allocation_date__range=(start, end)).order_by("id")
        if not dry_run:
            selected = selected.select_for_update(of=("self",))
        # Plain values, not model instances: a preview of a busy month reads tens of thousands of picks.
        picks = list(selected.values_list(*PICK_FIELDS))
        report = PeriodCloseReport(label, start, end)
        recosted = _recost(picks, end, report)
        if dry_run:
            return report
        AllocationResult.objects.bulk_update(
            recosted, ["unit_cost", "allocated_price", "cost_final", "provisional_unit_cost", "provisional_price"],
            batch_size=1000,
        )
        report.closed = ClosedPeriod.objects.create(
            start=start, end=end, closed_by=user if getattr(user, "pk", None) else None,
            results_recosted=len(picks), averages=report.averages,
        )
        events_record([NewEvent(EventType.PERIOD_CLOSED, _closed_data(report))], report.closed.closed_at)
        history_record(user, report.closed, ADDITION, message=f"Closed; {len(picks)} results re-costed.")
    return report


def _closed_data(report: PeriodCloseReport) -> dict:
    """Return a `period.closed` event's data: the period, and per item its final average and re-costed amounts."""
    items: dict[str, dict] = {}
    for r in report.recosted:
        item = items.setdefault(r.item_code, {"average": report.averages.get(r.item_code, ""), "results": 0,
                                              "quantity": 0, "old_amount": Decimal("0.00"), "new_amount": Decimal("0.00")})
        item["results"] += 1
        item["quantity"] += r.quantity
        item["old_amount"] += r.old_amount
        item["new_amount"] += r.new_amount
    for item in items.values():
        item["difference"] = str(item["new_amount"] - item["old_amount"])
        item["old_amount"], item["new_amount"] = str(item["old_amount"]), str(item["new_amount"])
    return {"period": report.period, "start": report.start.isoformat(), "end": report.end.isoformat(),
            "results_recosted": len(report.recosted), "items": items}


PICK_FIELDS = ("id", "method", "item_id", "allocated_quantity", "unit_cost", "allocated_price", "order__order_number",
               "item__item_code", "lot__reference")


def _recost(picks: list[tuple], end: date, report: PeriodCloseReport) -> list[AllocationResult]:
    """Give each pick (PICK_FIELDS) its final cost (its method's figure over the whole period), keeping the old
    one; return the results to save (unsaved instances holding only the changed fields)."""
    costs = {
        name: item_costs(get_method(name), {p[2] for p in picks if p[1] == name}, end, final=True)
        for name in {p[1] for p in picks}
    }
    changed = []
    for pk, method, item_id, quantity, unit_cost, price, order_number, item_code, lot in picks:
        final = costs[method].get(item_id)
        report.averages.setdefault(item_code, str(final or ""))
        new_cost = final or unit_cost
        new_amount = amount_of(quantity, new_cost)
        report.recosted.append(Recosting(pk, order_number, item_code, lot, quantity, unit_cost, new_cost, price, new_amount))
        changed.append(AllocationResult(pk=pk, unit_cost=new_cost, allocated_price=new_amount, cost_final=True,
                                        provisional_unit_cost=unit_cost, provisional_price=price))
    return changed
