"""Explain picks (`allocation.explain`) of stored runs and of dry runs, a page at a time.

`explain_results(results)` sets `.explanation` on each result (stored, or a dry run's unsaved ones). What a
pick's explanation needs beyond the result and its lot, the run noted on the order's outcome: a fair-share
quota among the shortfalls, an AVERAGE basis among the bases. For stored results that is one query for the
page's outcomes that carry either; a dry run passes its outcome rows instead.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.db.models import Q
from django.utils.translation import gettext

from allocation.domain import Share
from allocation.explain import Basis, PickFacts, explain
from allocation.models import AllocationResult, AllocationRun, RunOutcome
from allocation.selectors import period_label
from orders.models import Order
from stock.models import Item, Lot

Notes = dict[tuple[int | None, int], tuple[dict[int, Share], dict[int, Basis]]]  # (run, order) -> shares, bases


def _notes(shortfalls: list[dict] | None, bases: dict | None) -> tuple[dict[int, Share], dict[int, Basis]]:
    shares = {s["line"]: Share(s["quota"], s["requested"], s["supply"], s["demand"])
              for s in shortfalls or () if "quota" in s}
    return shares, {int(line): Basis.from_json(data) for line, data in (bases or {}).items()}


def _stored_notes(results: Sequence[AllocationResult]) -> Notes:
    runs = {r.run_id for r in results if r.run_id}
    if not runs:
        return {}
    rows = RunOutcome.objects.filter(Q(short_lines__gt=0) | Q(bases__isnull=False), run_id__in=runs,
                                     order_id__in={r.order_id for r in results})
    return {(run, order): _notes(shortfalls, bases)
            for run, order, shortfalls, bases in rows.values_list("run_id", "order_id", "shortfalls", "bases")}


def dry_run_notes(outcome_rows: Iterable[tuple], orders: set[int]) -> Notes:
    """Return the notes of a dry run's orders in `orders`, from its outcome rows (`allocation.rows.OUTCOMES`)."""
    return {(None, row[0]): _notes(json.loads(row[7]), None if row[8] is None else json.loads(row[8]))
            for row in outcome_rows if row[0] in orders and (row[6] or row[8] is not None)}


def explain_result(result: AllocationResult, shares: dict[int, Share], bases: dict[int, Basis]) -> str:
    lot = result.lot
    return explain(PickFacts(
        result.method, result.allocation_date, lot.reference, lot.received_on, lot.eta, lot.expires_on,
        result.unit_cost, result.cost_final, period_label(result.allocation_date),
        bases.get(result.order_line_id), shares.get(result.order_line_id)), gettext)


def explain_results(results: Sequence[AllocationResult], notes: Notes | None = None) -> Sequence[AllocationResult]:
    """Set `.explanation` on each result (their lots loaded); `notes` for a dry run's, else read. Return them."""
    if notes is None:
        notes = _stored_notes(results)
    empty = ({}, {})
    for result in results:
        result.explanation = explain_result(result, *notes.get((result.run_id, result.order_id), empty))
    return results


def dry_run_results(run: AllocationRun, picks: list, outcome_rows: list[tuple]) -> list[AllocationResult]:
    """Return a dry run's picks as unsaved results (id and run empty) with their explanations, ready for
    AllocationResultSerializer."""
    orders = Order.objects.only("order_number").in_bulk({p.order_id for p in picks})
    items = Item.objects.only("item_code").in_bulk({p.item_id for p in picks})
    lots = Lot.objects.only("reference", "received_on", "eta", "expires_on").in_bulk({p.lot_id for p in picks})
    return explain_results([
        AllocationResult(
            order=orders[p.order_id], order_line_id=p.line_id, item=items[p.item_id], lot=lots[p.lot_id],
            allocated_quantity=p.quantity, unit_cost=p.unit_cost, allocated_price=p.amount, cost_final=p.cost_final,
            allocation_date=run.as_of, method=run.method,
        )
        for p in picks
    ], dry_run_notes(outcome_rows, set(orders)))
