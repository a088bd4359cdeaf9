"""Services that write: run an allocation (here), release it and cancel orders
(`allocation.releases`), close a period (`allocation.periods`); all three are
imported from this module. Whether a run is done now or queued is decided by
`allocation.requests.allocation_request`; planning it is `allocation.planning`.

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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone

from allocation import loads, writes
from allocation.allocator import bases_json
from allocation.domain import (
    CANCELLED,
    ORDERED_LATER,
    InsufficientStock,
    OrderOutcome,
    OutcomeStatus,
    PeriodClosed,
    Pick,
    Plan,
    Shortfall,
)
from allocation.events import run_event_rows
from allocation.methods import get_method
from allocation.models import AllocationRun, RunOutcome, RunStatus
from allocation.parameters import RunRequest
from allocation.periods import PeriodCloseReport, period_close  # noqa: F401  (services of this module)
from allocation.planning import Progress, plan_run
from allocation.policies import DEFAULT_POLICY
from allocation.releases import ReleaseReport, allocation_release, order_cancel, order_statuses_refresh  # noqa: F401
from allocation.selectors import closed_period_covering, period_label, period_start_function
from allocation.sql import is_postgres, lock_closed_books, own_transaction
from inventory_alloc.errors import Conflict
from stock.models import Item

OUTCOME_KEYS = ("order", "order_number", "status", "quantity", "amount", "reason", "short_lines", "shortfalls", "bases")


def outcome_dict(row: tuple) -> dict:
    """Return an outcome row (of `allocation.rows.OUTCOMES`) as the API and the pages show it."""
    outcome = dict(zip(OUTCOME_KEYS, row, strict=True))
    outcome["amount"] = str(outcome["amount"])
    outcome["shortfalls"] = json.loads(outcome["shortfalls"])
    del outcome["short_lines"], outcome["bases"]
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
            values["bases"] = None if values["bases"] is None else json.loads(values["bases"])
            objects.append(RunOutcome(run_id=self.run.pk, **values))
        return objects

    @property
    def outcomes(self) -> list[dict]:
        return self.outcomes_head(len(self.outcome_rows))


def _in_current_period(as_of: date) -> bool:
    """Whether `as_of` falls in the period holding today (which cannot be closed yet)."""
    return as_of >= period_start_function()(timezone.localdate())


def refuse_closed_books(as_of: date, *, lock: bool) -> None:
    """Refuse a date on or before the end of a closed period (its averages are final).

    Only a period that has ended can be closed, so the current one needs no
    look-up. With `lock`, a concurrent period close waits for this transaction.
    """
    if _in_current_period(as_of):
        return
    if lock:
        lock_closed_books(exclusive=False)
    closed = closed_period_covering(as_of)
    if closed is not None:
        label = period_label(closed.start)  # "2026-01", or "2026" when periods are years
        raise PeriodClosed(label, f"Period {label} is closed: allocate at a date after {closed.end}.")


_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _shortfall(s: Shortfall, item_codes: dict[int, str]) -> dict:
    """Return a short line as an outcome's JSON keeps it; under fair_share with its quota and the item's supply
    and demand."""
    row = {"line": s.line_id, "item_code": item_codes.get(s.item_id, ""), "requested": s.requested,
           "allocated": s.allocated, "short": s.short, "reason": s.reason}
    if s.share is not None:
        row.update(quota=s.share.quota, supply=s.share.supply, demand=s.share.demand)
    return row


def _outcome_row(order: loads.OrderRow, outcome: OrderOutcome, item_codes: dict[int, str], bases: dict | None,
                 names: dict) -> tuple:
    """Return the outcome of one order as a row of `allocation.rows.OUTCOMES` (its shortfalls and its lines'
    average bases as JSON text)."""
    shortfalls = "[]" if not outcome.shortfalls else _json([_shortfall(s, item_codes) for s in outcome.shortfalls])
    return (order.id, order.number, outcome.status, outcome.quantity, outcome.amount, outcome.reason,
            len(outcome.shortfalls), shortfalls,
            None if not bases else bases_json(bases, names))


def _summarise(run: AllocationRun, outcomes: list[OrderOutcome], picks: list[Pick]) -> None:
    run.orders_considered = len(outcomes)
    run.orders_fully_allocated = sum(o.status == OutcomeStatus.ALLOCATED for o in outcomes)
    run.orders_partly_allocated = sum(o.status == OutcomeStatus.PARTIAL for o in outcomes)
    run.orders_not_allocated = run.orders_considered - run.orders_fully_allocated - run.orders_partly_allocated
    run.allocated_quantity = sum(p.quantity for p in picks)
    run.allocated_amount = writes.decimal_sum(p.amount for p in picks)


def _write(run: AllocationRun, orders: list[loads.OrderRow], plan: Plan, statuses: dict[int, str],
           outcomes: list[tuple], user_id: int | None, seen: dict | None = None, commits: bool = False) -> None:
    """Write the run with its events (one per order that got picks, one per order left short) and its one
    history entry (not one per result)."""
    deltas: dict[int, int] = defaultdict(int)
    for pick in plan.picks:
        deltas[pick.lot_id] += pick.quantity
    events = run_event_rows(outcomes, {pick.order_id for pick in plan.picks}, {o.id: o.event_sequence for o in orders})
    said = (f"Allocated {run.allocated_quantity} units to {run.orders_considered} orders: "
            f"{run.orders_fully_allocated} fully, {run.orders_partly_allocated} partly, {run.orders_not_allocated} not.")
    writes.write_run(run, writes.RunWrites(plan.picks, deltas, statuses, outcomes, events, (user_id, said), seen,
                                           commits),
                     timezone.now())


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


def allocation_run(
    *,
    method: str,
    orders: Iterable | None = None,
    as_of: date | None = None,
    policy: str = DEFAULT_POLICY,
    allow_partial: bool = True,
    allow_inbound: bool = True,
    dry_run: bool = False,
    user=None,
    progress: Progress | None = None,
) -> RunReport:
    """Allocate `orders` (default: every open order) with `method` at `as_of` (default today), now.

    A dry run computes the same answer and writes nothing (its run is unsaved).
    When exactly one order is named, `allow_partial` is off and it cannot be
    filled, nothing is written and InsufficientStock carries the shortfall.
    (To queue a big run instead, see `allocation.requests.allocation_request`.)
    """
    request = RunRequest.of(method=method, orders=orders, as_of=as_of, policy=policy, allow_partial=allow_partial,
                            allow_inbound=allow_inbound, dry_run=dry_run).validated()
    return execute(request.new_run(user), progress=progress)


# A run naming at most this many orders, by a method that costs each pick at its lot (FIFO, LIFO, FEFO,
# SPECIFIC), is planned on PostgreSQL from lots read without locking them: it holds its lots only from its
# closing statement to its commit, so concurrent one-order runs on a hot item queue for that, not for the whole
# run. If a lot it took from moved meanwhile (LotsMoved) it is planned once more, locking them. A bigger run,
# or one costed over the item's stock, locks its lots as it reads them: replanning it would cost too much, or
# its costs depend on every lot.
UNLOCKED_PLAN_ORDERS = 50


def execute(run: AllocationRun, *, progress: Progress | None = None) -> RunReport:
    """Plan and (unless a dry run) write `run` in one transaction; return its report."""
    if not run.dry_run and run.started_at is None:
        run.started_at = timezone.now()
    if _plans_unlocked(run):
        pk, adding = run.pk, run._state.adding
        try:
            return _execute(run, progress, lock_lots=False)
        except writes.LotsMoved:  # rolled back: plan it again, locking the lots
            run.pk, run._state.adding = pk, adding
    return _execute(run, progress, lock_lots=True)


def _plans_unlocked(run: AllocationRun) -> bool:
    """Whether `run` plans on lots it reads unlocked: a new run (a queued one is saved, and not in a hurry) of a
    few named orders by a method costed at the lot, on PostgreSQL."""
    orders = run.requested_orders
    return (run._state.adding and not run.dry_run and is_postgres() and orders is not None
            and len(orders) <= UNLOCKED_PLAN_ORDERS and get_method(run.method).costing == "lot")


def _execute(run: AllocationRun, progress: Progress | None, *, lock_lots: bool) -> RunReport:
    """Plan and write `run` in one transaction: Django's (atomic), or, for a run planned on unlocked lots outside
    any transaction and dated in the current period, one its statements begin and end themselves
    (`allocation.sql.own_transaction`: no round trips for Django's BEGIN and COMMIT)."""
    connection = transaction.get_connection()
    current = _in_current_period(run.as_of)
    own = not lock_lots and current and connection.get_autocommit() and not connection.in_atomic_block
    with _collector_paused(), (own_transaction() if own else transaction.atomic()):
        return _plan_and_write(run, progress, lock_lots=lock_lots, commits=own, current=current)


def _plan_and_write(run: AllocationRun, progress: Progress | None, *, lock_lots: bool, commits: bool,
                    current: bool) -> RunReport:
    dry_run = run.dry_run
    if not current:  # a date in the current period needs no look-up (refuse_closed_books)
        refuse_closed_books(run.as_of, lock=not dry_run)
    order_rows, plan, statuses, seen = plan_run(run, lock=not dry_run, lock_lots=lock_lots, progress=progress)
    _refuse_unfillable_single_order(run.requested_orders, plan)
    _summarise(run, plan.outcomes, plan.picks)
    outcomes = _outcome_rows(order_rows, plan)
    plan.outcomes.clear()  # the rows say it all; a big run should not hold both
    run.status = RunStatus.DONE
    run.finished_at = timezone.now()
    if not dry_run:
        _write(run, order_rows, plan, statuses, outcomes, run.started_by_id, seen, commits)
    return RunReport(run, outcomes, plan.picks)


def _outcome_rows(orders: list[loads.OrderRow], plan: Plan) -> list[tuple]:
    by_id = {o.id: o for o in orders}
    codes = _item_codes({s.item_id for o in plan.outcomes for s in o.shortfalls})
    bases = plan.bases
    names: dict = {}  # the lots named in bases, per (item, first lot): shared by the run's lines
    return [_outcome_row(by_id[o.order_id], o, codes, bases.get(o.order_id), names) for o in plan.outcomes]


def _item_codes(item_ids: set[int]) -> dict[int, str]:
    return dict(Item.objects.filter(id__in=item_ids).values_list("id", "item_code")) if item_ids else {}


def _refuse_unfillable_single_order(order_ids: list[int] | None, plan: Plan) -> None:
    if order_ids is None or len(order_ids) != 1 or len(plan.outcomes) != 1:
        return
    outcome = plan.outcomes[0]
    if outcome.status == OutcomeStatus.SKIPPED and outcome.reason == CANCELLED:
        raise Conflict("The order is cancelled.", order=outcome.order_id)
    if outcome.status == OutcomeStatus.SKIPPED and outcome.reason != ORDERED_LATER:
        raise InsufficientStock(outcome.shortfalls, "Not enough stock to fill every line of the order.",
                                item_codes=_item_codes({s.item_id for s in outcome.shortfalls}), order=outcome.order_id)
