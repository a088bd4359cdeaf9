"""The hot write path of a run, in set-based SQL.

An allocation run may write tens of thousands of results and outcomes and touch as many lots and
orders. Row-by-row ORM saves take minutes, so these few statements use what each database does fast
(the forms of the row tables come from their one declaration in `allocation.rows`): on PostgreSQL,
COPY (or, for a small run, arrays inside the run's closing statement) and UPDATE ... FROM unnest();
on SQLite, multi-row INSERTs, one UPDATE ... IN per order status and executemany for lots.
"""
from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from operator import attrgetter

from django.db import connection

from allocation.domain import Pick
from allocation.models import AllocationRun
from allocation.rows import OUTCOMES, RESULTS
from allocation.sql import chunked, is_postgres, sqlite_rows_per_statement, table
from orders.models import Order
from stock.models import Lot

# A pick as a row of RESULTS (its columns, in their declared order).
result_row = attrgetter("order_id", "line_id", "item_id", "lot_id", "quantity", "unit_cost", "amount", "cost_final")

# Up to this many rows, PostgreSQL inserts a run's results and outcomes from arrays inside
# the run's closing statement instead of a COPY of their own: fewer round trips while the
# run holds its lots locked, which is what concurrent one-order runs on the same item queue
# behind. Such a run's own row goes in there too.
INLINE_RESULTS = 1000
COPY_ROWS = 50_000  # rows per COPY: a big run's buffer stays small


def _shared(run: AllocationRun, now: datetime) -> tuple[tuple, tuple]:
    """Return the values shared by every result and every outcome of `run`, as this database takes them."""
    if is_postgres():
        return (run.pk, run.as_of, run.method, now), (run.pk,)
    ops = connection.ops
    return (run.pk, ops.adapt_datefield_value(run.as_of), run.method, ops.adapt_datetimefield_value(now)), (run.pk,)


def insert_rows(run: AllocationRun, picks: Sequence[Pick], outcomes: Sequence[tuple], now: datetime) -> None:
    """Insert the results (one per pick) and the outcomes of a saved `run`: COPY on PostgreSQL, multi-row INSERTs on SQLite."""
    shared_results, shared_outcomes = _shared(run, now)
    with connection.cursor() as cursor:
        for target, rows, shared in ((RESULTS, picks, shared_results), (OUTCOMES, outcomes, shared_outcomes)):
            for start in range(0, len(rows), COPY_ROWS):
                chunk = rows[start:start + COPY_ROWS]
                if target is RESULTS:
                    chunk = list(map(result_row, chunk))
                if is_postgres():
                    target.copy(cursor, chunk, shared)
                else:
                    target.insert_many(cursor, chunk, shared)


@functools.cache
def _run_fields() -> tuple:
    return tuple(f for f in AllocationRun._meta.local_concrete_fields if not f.primary_key)


def _run_insert_sql(run: AllocationRun) -> tuple[str, list]:
    """Return an INSERT of `run` with every column, each value prepared by its field as `save()` does.

    Written here rather than compiled by the ORM (a third of the time) because
    it runs while the lots are locked.
    """
    fields = _run_fields()
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    params = [f.get_db_prep_save(getattr(run, f.attname), connection) for f in fields]
    return f"INSERT INTO {table(AllocationRun)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})", params


def _lots_sql(deltas: Mapping[int, int]) -> tuple[str, list]:
    return (
        f"UPDATE {table(Lot)} AS l SET allocated_quantity = l.allocated_quantity + d.delta "
        "FROM unnest(%s::bigint[], %s::integer[]) AS d(id, delta) WHERE l.id = d.id",
        [list(deltas.keys()), list(deltas.values())],
    )


def _statuses_sql(statuses: Mapping[int, str], now: datetime) -> tuple[str, list]:
    return (
        f"UPDATE {table(Order)} AS o SET status = s.status, updated_at = %s "
        "FROM unnest(%s::bigint[], %s::text[]) AS s(id, status) WHERE o.id = s.id",
        [now, list(statuses.keys()), list(statuses.values())],
    )


def add_lot_allocations(deltas: Mapping[int, int]) -> None:
    """Add `deltas[lot_id]` (negative to release) to each lot's allocated quantity.

    The lot's CHECK constraint refuses the whole statement if any lot would be
    oversold or go below zero.
    """
    if not deltas:
        return
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(*_lots_sql(deltas))
        else:
            cursor.executemany(
                f"UPDATE {table(Lot)} SET allocated_quantity = allocated_quantity + %s WHERE id = %s",
                [(delta, lot_id) for lot_id, delta in deltas.items()],
            )


def set_order_statuses(statuses: Mapping[int, str], now: datetime) -> None:
    """Store each order's new status (`statuses[order_id]`).

    SQLite: one UPDATE ... WHERE id IN (...) per status and batch (a run sets
    a few distinct statuses on thousands of orders).
    """
    if not statuses:
        return
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(*_statuses_sql(statuses, now))
            return
        stamp = connection.ops.adapt_datetimefield_value(now)
        by_status: dict[str, list[int]] = defaultdict(list)
        for order_id, status in statuses.items():
            by_status[status].append(order_id)
        for status, ids in by_status.items():
            for chunk in chunked(sorted(ids), sqlite_rows_per_statement(1, 2)):
                cursor.execute(
                    f"UPDATE {table(Order)} SET status = %s, updated_at = %s WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                    [status, stamp, *chunk],
                )


RUN_SUMMARY = (
    "status", "finished_at", "orders_considered", "orders_fully_allocated", "orders_partly_allocated",
    "orders_not_allocated", "allocated_quantity", "allocated_amount",
)


def write_run(run: AllocationRun, picks: Sequence[Pick], deltas: Mapping[int, int],
              statuses: Mapping[int, str], outcomes: Sequence[tuple], now: datetime) -> None:
    """Write what a planned run decided: the run, its results and outcomes, the lots, the orders' statuses.

    `run` is unsaved (it is inserted here, with its summary, and gets its id)
    or saved already (a queued run: its summary is updated). `outcomes` are rows
    of `allocation.rows.OUTCOMES`. On PostgreSQL results and outcomes go in by
    COPY, or for a small run inside the one closing statement that also writes
    the run, lots and orders: concurrent runs queued on the same lots then wait
    for as few round trips as possible, and a one-order run is four statements
    in all.
    """
    inline = is_postgres() and len(picks) <= INLINE_RESULTS and len(outcomes) <= INLINE_RESULTS
    if run.pk is None and not inline:
        run.save()  # the results refer to it: insert it first (its summary follows below)
    if not inline:
        insert_rows(run, picks, outcomes, now)
    if not is_postgres():
        add_lot_allocations(deltas)
        set_order_statuses(statuses, now)
        _update_run(run)
        return
    prefix, params = _closing_ctes(run, picks if inline else (), outcomes if inline else (), deltas, statuses, now)
    if run.pk is not None:
        _update_run(run, prefix, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(f"{prefix}SELECT id FROM n", params)
        run.pk = cursor.fetchone()[0]
    run._state.adding, run._state.db = False, connection.alias


def _closing_ctes(run: AllocationRun, picks: Sequence[Pick], outcomes: Sequence[tuple], deltas: Mapping[int, int],
                  statuses: Mapping[int, str], now: datetime) -> tuple[str, list]:
    """Return the WITH clause of a run's closing statement (PostgreSQL) and its parameters.

    It inserts the run if it is new (`n`), then the results and outcomes given (`r`, `o`), adds to the
    lots (`d`) and sets the orders' statuses (`s`); the statement that follows returns the new run's id
    or updates a queued run's summary.
    """
    parts, params = [], []
    run_id, run_params = ("%s", [run.pk]) if run.pk is not None else ("(SELECT id FROM n)", [])
    if run.pk is None:
        sql, values = _run_insert_sql(run)
        parts.append(f"n AS ({sql} RETURNING id)")
        params += values
    for name, target, rows, shared in (("r", RESULTS, list(map(result_row, picks)), [run.as_of, run.method, now]),
                                       ("o", OUTCOMES, outcomes, [])):
        if rows:
            sql, arrays = target.from_arrays(rows, [run_id] + ["%s"] * len(shared))
            parts.append(f"{name} AS ({sql})")
            params += run_params + shared + arrays
    for name, sql_and_values in (("d", _lots_sql(deltas) if deltas else None),
                                 ("s", _statuses_sql(statuses, now) if statuses else None)):
        if sql_and_values:
            parts.append(f"{name} AS ({sql_and_values[0]})")
            params += sql_and_values[1]
    return (f"WITH {', '.join(parts)} " if parts else ""), params


def _update_run(run: AllocationRun, prefix: str = "", params: Sequence = ()) -> None:
    """Store the run's summary, after `prefix` (CTEs) whose parameters are `params`."""
    summary = [getattr(run, name) for name in RUN_SUMMARY]
    if not is_postgres():
        summary[1] = connection.ops.adapt_datetimefield_value(summary[1])
        summary[-1] = str(summary[-1])
    sets = ", ".join(f"{name} = %s" for name in RUN_SUMMARY)
    with connection.cursor() as cursor:
        cursor.execute(f"{prefix}UPDATE {table(AllocationRun)} SET {sets} WHERE id = %s", [*params, *summary, run.pk])


def decimal_sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal("0.00"))
