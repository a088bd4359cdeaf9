"""Services that write: run an allocation (here), release it and cancel orders
(`allocation.releases`), close a period (`allocation.periods`); all three are
imported from this module.

All or nothing: each service runs in one transaction, locks the orders it
touches and then the lots, both in primary-key order (so that concurrent runs
wait for each other instead of deadlocking or overselling), and writes in bulk
through `allocation.writes`.
"""
from __future__ import annotations

import gc
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from allocation import loads, writes
from allocation.domain import (
    Conflict,
    InsufficientStock,
    InvalidInput,
    LineDemand,
    LotSnapshot,
    OrderDemand,
    OrderOutcome,
    OutcomeStatus,
    PeriodClosed,
    Pick,
    Plan,
    Shortfall,
)
from allocation.methods import allocate, get_method
from allocation.models import AllocationRun, Method, Policy, RunOutcome, RunStatus
from allocation.periods import PeriodCloseReport, period_close  # noqa: F401  (services of this module)
from allocation.releases import ReleaseReport, allocation_release, order_cancel, order_statuses_refresh  # noqa: F401
from allocation.selectors import closed_period_covering, item_costs, period_start_function
from allocation.sql import batch_size, chunked, lock_closed_books
from inventory_alloc.dates import OUT_OF_RANGE, is_sane
from orders.models import OrderStatus
from orders.selectors import customer_history_parts, open_quantity_coverage, weighted_score
from stock.models import Item

Progress = Callable[[int], None]


OUTCOME_KEYS = ("order", "order_number", "status", "quantity", "amount", "reason", "short_lines", "shortfalls")


def outcome_dict(row: tuple) -> dict:
    """Return an outcome row (of `allocation.rows.OUTCOMES`) as the API and the pages show it."""
    outcome = dict(zip(OUTCOME_KEYS, row, strict=True))
    outcome["amount"] = str(outcome["amount"])
    outcome["shortfalls"] = json.loads(outcome["shortfalls"])
    del outcome["short_lines"]
    return outcome


@dataclass
class RunReport:
    """What `allocation_run` returns: the run (unsaved for a dry run), one outcome row per order, and the picks.

    `outcome_rows` are the rows written (`allocation.rows.OUTCOMES`); `outcomes_head(n)` and `outcomes`
    give them as dicts, the first n or all of them.
    """

    run: AllocationRun
    outcome_rows: list[tuple]
    picks: list[Pick] = field(default_factory=list)

    def outcomes_head(self, count: int) -> list[dict]:
        return [outcome_dict(row) for row in self.outcome_rows[:count]]

    def outcome_objects(self, count: int, weight: int) -> list[RunOutcome]:
        """Return the first outcomes as (unsaved) RunOutcome objects: at most `count`, and stop before their
        shortfalls pass `weight` (always at least one)."""
        objects, carried = [], 0
        for row in self.outcome_rows[:count]:
            carried += row[6]
            if objects and carried > weight:
                break
            values = dict(zip(OUTCOME_KEYS, row, strict=True))
            values["order_id"], values["shortfalls"] = values.pop("order"), json.loads(values["shortfalls"])
            objects.append(RunOutcome(run_id=self.run.pk, **values))
        return objects

    @property
    def outcomes(self) -> list[dict]:
        return self.outcomes_head(len(self.outcome_rows))


def _check_parameters(method: str, policy: str, as_of: date, *, books: bool) -> None:
    get_method(method)
    if policy not in Policy.values:
        raise InvalidInput(f'"{policy}" is not a policy; use one of {", ".join(Policy.values)}.', field="policy")
    if as_of > timezone.localdate():
        raise InvalidInput("The allocation date cannot be in the future.", field="as_of")
    if not is_sane(as_of):
        raise InvalidInput(OUT_OF_RANGE, field="as_of")
    if books:  # a run checks again under lock when it executes; a queued run should fail now
        _refuse_closed_books(as_of, lock=False)


def _refuse_closed_books(as_of: date, *, lock: bool) -> None:
    """Refuse a date on or before the end of a closed period (its averages are final).

    Only a period that has ended can be closed, so the current one needs no
    look-up. With `lock`, a concurrent period close waits for this transaction.
    """
    if as_of >= period_start_function()(timezone.localdate()):
        return
    if lock:
        lock_closed_books(exclusive=False)
    closed = closed_period_covering(as_of)
    if closed is not None:
        label = f"{closed.start:%Y-%m}"
        raise PeriodClosed(label, f"Period {label} is closed: allocate at a date after {closed.end}.")


def _load_lines(order_ids: list[int] | None) -> Iterator[tuple[int, int, int, int, int | None, int]]:
    """Yield (id, order, item, quantity, named lot, actively allocated) of the orders' lines."""
    if order_ids is None:
        yield from loads.lines(None)
        return
    for chunk in chunked(order_ids, batch_size()):
        yield from loads.lines(chunk)


def _load_lots(item_ids: set[int], named: set[int], as_of: date, *, allow_inbound: bool, lock: bool) -> list[LotSnapshot]:
    rows = []
    for chunk in chunked(sorted(item_ids), batch_size()):
        rows += loads.lots(chunk, as_of, allow_inbound=allow_inbound, lock=lock)
    seen = {row[0] for row in rows}
    for chunk in chunked(sorted(named - seen), batch_size()):  # named lots the run cannot use: to say why
        rows += loads.lots(None, as_of, allow_inbound=allow_inbound, lock=False, ids=chunk)
    return [
        LotSnapshot(lot_id, item_id, quantity - allocated, cost, received, eta, expires, reference)
        for lot_id, item_id, quantity, allocated, cost, received, eta, expires, reference in rows
    ]


def _policy_order(
    policy: str, orders: list[loads.OrderRow], demands: dict[int, list[LineDemand]], lots: list[LotSnapshot], as_of: date,
) -> list[loads.OrderRow]:
    if policy == Policy.PRIORITY:
        return sorted(orders, key=lambda o: (-o.priority, o.order_date, o.id))
    if policy == Policy.ORDER_DATE:
        return sorted(orders, key=lambda o: (o.order_date, o.id))
    customers = sorted({o.customer_id for o in orders if o.customer_id is not None})
    history = customer_history_parts(customers, today=as_of) if customers else {}
    on_hand: dict[int, int] = defaultdict(int)
    for lot in lots:
        if lot.is_in_stock(as_of) and not lot.is_expired(as_of):
            on_hand[lot.item_id] += max(lot.available, 0)
    coverage = open_quantity_coverage(
        ((order_id, d.item_id, d.quantity) for order_id, lines in demands.items() for d in lines), on_hand,
    )

    def score(order: loads.OrderRow) -> float:
        parts = history.get(order.customer_id, (0.0, 0.0, 0.0)) if order.customer_id else (0.0, 0.0, 0.0)
        return weighted_score(*parts, coverage.get(order.id, 0.0))

    return sorted(orders, key=lambda o: (-score(o), o.order_date, o.id))


_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _outcome_row(order: loads.OrderRow, outcome: OrderOutcome, item_codes: dict[int, str]) -> tuple:
    """Return the outcome of one order as a row of `allocation.rows.OUTCOMES` (its shortfalls as JSON text)."""
    shortfalls = "[]" if not outcome.shortfalls else _json([
        {
            "line": s.line_id, "item_code": item_codes.get(s.item_id, ""), "requested": s.requested,
            "allocated": s.allocated, "short": s.short, "reason": s.reason,
        }
        for s in outcome.shortfalls
    ])
    return (order.id, order.number, outcome.status, outcome.quantity, outcome.amount, outcome.reason,
            len(outcome.shortfalls), shortfalls)


def _summarise(run: AllocationRun, outcomes: list[OrderOutcome], picks: list[Pick]) -> None:
    run.orders_considered = len(outcomes)
    run.orders_fully_allocated = sum(o.status == OutcomeStatus.ALLOCATED for o in outcomes)
    run.orders_partly_allocated = sum(o.status == OutcomeStatus.PARTIAL for o in outcomes)
    run.orders_not_allocated = run.orders_considered - run.orders_fully_allocated - run.orders_partly_allocated
    run.allocated_quantity = sum(p.quantity for p in picks)
    run.allocated_amount = writes.decimal_sum(p.amount for p in picks)


def _plan(
    run: AllocationRun, order_ids: list[int] | None, *, lock: bool, progress: Progress | None,
) -> tuple[list[loads.OrderRow], Plan, dict[int, str]]:
    """Load and lock what the run needs, serve the orders in policy order; return the plan and new statuses."""
    orders = loads.order_rows(order_ids, lock=lock)
    by_id = {o.id: o for o in orders}
    live = [o for o in orders if o.status != OrderStatus.CANCELLED]
    live_ids = None if order_ids is None else [o.id for o in live]
    # An order placed after the allocation date did not exist at D: it takes nothing (ALLOCATION.md).
    later = {o.id for o in live if o.order_date > run.as_of}
    if later:
        live = [o for o in live if o.id not in later]
    demands: dict[int, list[LineDemand]] = defaultdict(list)
    ordered: dict[int, int] = defaultdict(int)
    allocated: dict[int, int] = defaultdict(int)
    items: set[int] = set()
    named: set[int] = set()
    for line_id, order_id, item_id, quantity, lot_id, done in (_load_lines(live_ids) if live else ()):
        if order_id not in by_id:  # an order that became open after the orders were read
            continue
        ordered[order_id] += quantity
        allocated[order_id] += done
        demands[order_id].append(LineDemand(line_id, order_id, item_id, quantity - done, lot_id, quantity))
        if quantity > done and order_id not in later:
            items.add(item_id)
            if lot_id is not None and run.method == Method.SPECIFIC:  # only SPECIFIC reads a named lot
                named.add(lot_id)
    lots = _load_lots(items, named, run.as_of, allow_inbound=run.allow_inbound, lock=lock) if items else []
    costs = item_costs(run.method, items, run.as_of) if items else {}
    ranked = _policy_order(run.policy, live, demands, lots, run.as_of)
    plan = allocate(
        run.method,
        (OrderDemand(o.id, tuple(demands.get(o.id, ()))) for o in ranked),
        lots, as_of=run.as_of, allow_partial=run.allow_partial, allow_inbound=run.allow_inbound,
        item_costs=costs, progress=progress,
    )
    plan.outcomes += [_ordered_later(order_id, demands[order_id]) for order_id in sorted(later)]
    plan.outcomes += [OrderOutcome(o.id, OutcomeStatus.SKIPPED, reason="cancelled")
                      for o in orders if o.status == OrderStatus.CANCELLED]
    for pick in plan.picks:
        allocated[pick.order_id] += pick.quantity
    statuses = {
        o.id: status for o in live
        if (status := OrderStatus.derive(ordered[o.id], allocated[o.id])) != o.status
    }
    return orders, plan, statuses


ORDERED_LATER = "ordered after the allocation date"


def _ordered_later(order_id: int, lines: list[LineDemand]) -> OrderOutcome:
    """Return the outcome of an order placed after the run's date: skipped, every open line short."""
    shortfalls = [Shortfall(d.line_id, d.item_id, d.quantity, 0, ORDERED_LATER) for d in lines if d.quantity > 0]
    return OrderOutcome(order_id, OutcomeStatus.SKIPPED, shortfalls=shortfalls, reason=ORDERED_LATER)


def _write(run: AllocationRun, plan: Plan, statuses: dict[int, str], outcomes: list[tuple]) -> None:
    deltas: dict[int, int] = defaultdict(int)
    for pick in plan.picks:
        deltas[pick.lot_id] += pick.quantity
    writes.write_run(run, plan.picks, deltas, statuses, outcomes, timezone.now())


def allocation_run(
    *,
    method: str,
    orders: Iterable | None = None,
    as_of: date | None = None,
    policy: str = Policy.ORDER_DATE,
    allow_partial: bool = True,
    allow_inbound: bool = True,
    dry_run: bool = False,
    user=None,
    progress: Progress | None = None,
) -> RunReport:
    """Allocate `orders` (default: every open order) with `method` at `as_of` (default today).

    A dry run computes the same answer and writes nothing (its run is unsaved).
    When exactly one order is named, `allow_partial` is off and it cannot be
    filled, nothing is written and InsufficientStock carries the shortfall.
    """
    run = allocation_run_prepare(
        method=method, orders=orders, as_of=as_of, policy=policy, allow_partial=allow_partial,
        allow_inbound=allow_inbound, dry_run=dry_run, user=user,
    )
    return _execute(run, progress=progress)


def allocation_run_prepare(
    *,
    method: str,
    orders: Iterable | None = None,
    as_of: date | None = None,
    policy: str = Policy.ORDER_DATE,
    allow_partial: bool = True,
    allow_inbound: bool = True,
    dry_run: bool = False,
    user=None,
    queue: bool = False,
) -> AllocationRun:
    """Validate a run's parameters and return it unsaved, or saved as queued if `queue`.

    A queued run is executed later by `allocation_run_queued(run_id=...)`.
    """
    as_of = as_of or timezone.localdate()
    _check_parameters(method, policy, as_of, books=queue)
    run = AllocationRun(
        method=method, policy=policy, as_of=as_of, allow_partial=allow_partial, allow_inbound=allow_inbound,
        dry_run=dry_run, requested_orders=loads.order_ids(orders), started_by=user if getattr(user, "pk", None) else None,
    )
    run.requested_count = None if run.requested_orders is None else len(run.requested_orders)
    if queue:
        run.status = RunStatus.QUEUED
        run.started_at = timezone.now()
        run.deadline = run_deadline(run.started_at)
        run.save()
    return run


def run_deadline(start: datetime) -> datetime:
    return start + timedelta(seconds=settings.ALLOCATION_RUN_TIMEOUT)


def allocation_runs_expire(*, now: datetime | None = None) -> int:
    """Mark failed the queued or running runs past their deadline; return how many.

    Such a run's process is gone (a Lambda timeout, out of memory, a kill): it wrote nothing (a run is one
    transaction), and it never will. Called by every read of runs (API, admin), the dispatcher and the
    nightly task; the failed run can be retried.
    """
    now = now or timezone.now()
    error = (f"The run did not finish within {settings.ALLOCATION_RUN_TIMEOUT} s of its start: its process "
             "stopped (a timeout, out of memory or a kill) and nothing of it was written. Retry it.")
    return AllocationRun.objects.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING), deadline__lt=now).update(
        status=RunStatus.FAILED, error=error, finished_at=now,
    )


def allocation_run_queued(*, run_id: int, progress: Progress | None = None) -> RunReport:
    """Execute a queued run; a failure is stored on the run (status failed) and re-raised."""
    started = timezone.now()
    updated = AllocationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, deadline=run_deadline(started))
    run = AllocationRun.objects.get(pk=run_id)
    if not updated:
        raise Conflict(f"Run {run_id} is not queued (it is {run.status}).", run=run_id)
    try:
        return _execute(run, progress=progress)
    except Exception as error:
        AllocationRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now(),
        )
        raise


_collector_lock = threading.Lock()
_collector_pauses = 0
_collector_was_enabled = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a run works, then restore it.

    A 50,000-line run makes about half a million small objects (rows, demands,
    picks) that live until it ends and form no reference cycles; the collector
    would scan them over and over to free nothing, which was a quarter of the
    run's time (0.27 s of 1.04 s on SQLite). Reference counting still frees
    everything as usual; the few hundred cyclic objects a run leaves (Django's)
    are collected once the collector is back. Nested and concurrent runs
    (threads) share one pause, and the collector ends as it was found.
    """
    global _collector_pauses, _collector_was_enabled
    with _collector_lock:
        if _collector_pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_pauses += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_pauses -= 1
            if _collector_pauses == 0 and _collector_was_enabled:
                gc.enable()


def _execute(run: AllocationRun, *, progress: Progress | None = None) -> RunReport:
    order_ids = run.requested_orders
    dry_run = run.dry_run
    if not dry_run and run.started_at is None:
        run.started_at = timezone.now()
    with _collector_paused(), transaction.atomic():
        _refuse_closed_books(run.as_of, lock=not dry_run)
        order_rows, plan, statuses = _plan(run, order_ids, lock=not dry_run, progress=progress)
        _refuse_unfillable_single_order(order_ids, plan)
        _summarise(run, plan.outcomes, plan.picks)
        by_id = {o.id: o for o in order_rows}
        short_items = {s.item_id for o in plan.outcomes for s in o.shortfalls}
        codes = dict(Item.objects.filter(id__in=short_items).values_list("id", "item_code")) if short_items else {}
        outcomes = [_outcome_row(by_id[o.order_id], o, codes) for o in plan.outcomes]
        plan.outcomes.clear()  # the rows say it all; a big run should not hold both
        run.status = RunStatus.DONE
        run.finished_at = timezone.now()
        if not dry_run:
            _write(run, plan, statuses, outcomes)
    return RunReport(run, outcomes, plan.picks)


def _refuse_unfillable_single_order(order_ids: list[int] | None, plan: Plan) -> None:
    if order_ids is None or len(order_ids) != 1 or len(plan.outcomes) != 1:
        return
    outcome = plan.outcomes[0]
    if outcome.status == OutcomeStatus.SKIPPED and outcome.reason == "cancelled":
        raise Conflict("The order is cancelled.", order=outcome.order_id)
    if outcome.status == OutcomeStatus.SKIPPED:
        raise InsufficientStock(outcome.shortfalls, "Not enough stock to fill every line of the order.",
                                order=outcome.order_id)
