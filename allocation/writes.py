"""The hot write path of a run, in set-based SQL.

An allocation run may write tens of thousands of results and touch as many
lots and orders. Row-by-row ORM saves take minutes, so these few statements
use what each database does fast: on PostgreSQL, COPY (or, for a small run,
arrays inside the run's closing statement) and UPDATE ... FROM unnest(); on
SQLite, multi-row INSERTs, one UPDATE ... IN per order status and executemany
for lots. Everything else stays ORM.
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, connection

from allocation.domain import Pick
from allocation.models import AllocationResult, AllocationRun
from orders.models import Order
from stock.models import Lot

# A result's own columns, then those that are the same for every result of a run.
PICK_COLUMNS = (
    "order_id", "order_line_id", "item_id", "lot_id", "allocated_quantity", "unit_cost", "allocated_price", "cost_final",
)
RUN_COLUMNS = ("run_id", "allocation_date", "method", "created_at")


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def table(model) -> str:
    """Return the model's table name, quoted for the database."""
    return connection.ops.quote_name(model._meta.db_table)


def _sqlite_rows_per_statement(width: int, fixed: int = 0) -> int:
    """Return how many rows of `width` parameters (plus `fixed` ones) fit in one SQLite statement."""
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(batch_size(), (limit - fixed) // width))


def insert_results(run: AllocationRun, picks: Sequence[Pick], now: datetime) -> None:
    """Insert one result row per pick of `run`, dated `run.as_of` and created `now`.

    PostgreSQL: one COPY. SQLite: multi-row INSERTs of `ALLOCATION_BATCH_SIZE`
    rows (fewer if the parameter limit says so), half the time of an
    executemany of one row each; bigger statements are slower again.
    """
    if not picks:
        return
    columns = ", ".join(PICK_COLUMNS + RUN_COLUMNS)
    run_id, method = run.pk, run.method
    with connection.cursor() as cursor:
        if is_postgres():
            day, stamp = run.as_of.isoformat(), now.isoformat()
            fixed = f"{run_id}\t{day}\t{method}\t{stamp}\n"
            buffer = io.StringIO()
            buffer.writelines(
                f"{p.order_id}\t{p.line_id}\t{p.item_id}\t{p.lot_id}\t{p.quantity}\t{p.unit_cost}\t{p.amount}\t"
                f"{'t' if p.cost_final else 'f'}\t{fixed}"
                for p in picks
            )
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table(AllocationResult)} ({columns}) FROM STDIN", buffer)
            return
        fixed = [run_id, connection.ops.adapt_datefield_value(run.as_of), method,
                 connection.ops.adapt_datetimefield_value(now)]
        picked = ", ".join(f"column{n}" for n in range(1, len(PICK_COLUMNS) + 1))
        head = (f"INSERT INTO {table(AllocationResult)} ({columns}) "
                f"SELECT {picked}, {', '.join(['%s'] * len(fixed))} FROM (VALUES ")
        row = f"({', '.join(['%s'] * len(PICK_COLUMNS))})"
        for chunk in chunked(picks, _sqlite_rows_per_statement(len(PICK_COLUMNS), len(fixed))):
            params = fixed.copy()
            for p in chunk:
                params += (p.order_id, p.line_id, p.item_id, p.lot_id, p.quantity, str(p.unit_cost), str(p.amount),
                           p.cost_final)
            cursor.execute(f"{head}{', '.join([row] * len(chunk))})", params)


# Up to this many picks, PostgreSQL inserts a run's results from arrays inside
# the run's one closing statement instead of a COPY of their own: one round trip
# less while the run holds its lots locked, which is what concurrent one-order
# runs on the same item queue behind. Such a run's own row goes in there too.
INLINE_RESULTS = 1000


def _results_sql(run: AllocationRun, run_id: str, picks: Sequence[Pick], now: datetime) -> tuple[str, list]:
    """Insert the picks from arrays; `run_id` is SQL for the run's id (a parameter or a subquery)."""
    arrays = ("bigint", "bigint", "bigint", "bigint", "integer", "numeric", "numeric", "boolean")
    return (
        f"INSERT INTO {table(AllocationResult)} ({', '.join(PICK_COLUMNS + RUN_COLUMNS)}) "
        f"SELECT u.*, {run_id}, %s, %s, %s FROM unnest({', '.join(f'%s::{kind}[]' for kind in arrays)}) AS u",
        [run.as_of, run.method, now,
         [p.order_id for p in picks], [p.line_id for p in picks], [p.item_id for p in picks], [p.lot_id for p in picks],
         [p.quantity for p in picks], [p.unit_cost for p in picks], [p.amount for p in picks],
         [p.cost_final for p in picks]],
    )


@functools.cache
def _run_fields() -> tuple:
    return tuple(f for f in AllocationRun._meta.local_concrete_fields if not f.primary_key)


def _run_insert_sql(run: AllocationRun, outcomes_json: str) -> tuple[str, list]:
    """Return an INSERT of `run` with every column, each value prepared by its field as `save()` does.

    Written here rather than compiled by the ORM (a third of the time) because
    it runs while the lots are locked. The outcomes go in as compact JSON text,
    which the column casts, instead of the field's own (slower, bigger) encoding.
    """
    fields = _run_fields()
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    params = [outcomes_json if f.name == "outcomes" else f.get_db_prep_save(getattr(run, f.attname), connection)
              for f in fields]
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
            for chunk in chunked(sorted(ids), _sqlite_rows_per_statement(1, 2)):
                cursor.execute(
                    f"UPDATE {table(Order)} SET status = %s, updated_at = %s WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                    [status, stamp, *chunk],
                )


def _outcomes_json(outcomes: list[dict]) -> str:
    # One order at a time: json.dumps of the whole list holds millions of small
    # pieces at once (300 MB for 200,000 orders); this holds one string per order.
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    return "[" + ",".join([encode(outcome) for outcome in outcomes]) + "]"


RUN_SUMMARY = (
    "status", "finished_at", "orders_considered", "orders_fully_allocated", "orders_partly_allocated",
    "orders_not_allocated", "allocated_quantity", "allocated_amount",
)


def write_run(run: AllocationRun, picks: Sequence[Pick], deltas: Mapping[int, int],
              statuses: Mapping[int, str], outcomes: list[dict], now: datetime) -> None:
    """Write what a planned run decided: the run, its results, the lots, the orders' statuses.

    `run` is unsaved (it is inserted here, with its summary, and gets its id)
    or saved already (a queued run: its summary is updated). On PostgreSQL
    the results go in by COPY, or for a small run inside the one closing
    statement that also writes the run, lots and orders: concurrent runs
    queued on the same lots then wait for as few round trips as possible, and
    a one-order run is four statements in all. The outcomes are stored as
    compact JSON here rather than through the model field, which would encode
    and copy tens of MB several times over for a run of 200,000 orders.
    """
    inline = is_postgres() and len(picks) <= INLINE_RESULTS
    if run.pk is None and not inline:
        run.save()  # the results refer to it: insert it first (its outcomes follow below)
    for start in range(0, 0 if inline else len(picks), 50_000):
        insert_results(run, picks[start:start + 50_000], now)
    outcomes_json = _outcomes_json(outcomes)
    if not is_postgres():
        add_lot_allocations(deltas)
        set_order_statuses(statuses, now)
        _update_run(run, outcomes_json)
        return
    parts, params = [], []
    if run.pk is None:
        sql, values = _run_insert_sql(run, outcomes_json)
        parts.append(f"n AS ({sql} RETURNING id)")
        params += values
        run_id = "(SELECT id FROM n)"
    else:
        run_id = "%s"
    if inline and picks:
        sql, values = _results_sql(run, run_id, picks, now)
        parts.append(f"r AS ({sql})")
        params += ([] if run.pk is None else [run.pk]) + values
    if deltas:
        sql, values = _lots_sql(deltas)
        parts.append(f"d AS ({sql})")
        params += values
    if statuses:
        sql, values = _statuses_sql(statuses, now)
        parts.append(f"s AS ({sql})")
        params += values
    prefix = f"WITH {', '.join(parts)} " if parts else ""
    if run.pk is not None:
        _update_run(run, outcomes_json, prefix, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(f"{prefix}SELECT id FROM n", params)
        run.pk = cursor.fetchone()[0]
    run._state.adding, run._state.db = False, connection.alias


def _update_run(run: AllocationRun, outcomes_json: str, prefix: str = "", params: Sequence = ()) -> None:
    """Store the run's summary and outcomes, after `prefix` (CTEs) whose parameters are `params`."""
    summary = [getattr(run, name) for name in RUN_SUMMARY]
    cast = "::jsonb"
    if not is_postgres():
        summary[1] = connection.ops.adapt_datetimefield_value(summary[1])
        summary[-1] = str(summary[-1])
        cast = ""
    sets = ", ".join(f"{name} = %s" for name in RUN_SUMMARY)
    with connection.cursor() as cursor:
        cursor.execute(f"{prefix}UPDATE {table(AllocationRun)} SET {sets}, outcomes = %s{cast} WHERE id = %s",
                       [*params, *summary, outcomes_json, run.pk])


# Key of the PostgreSQL advisory lock between runs dated in past periods and period closes.
_BOOKS_LOCK = 0x1A11_0C47


def lock_closed_books(*, exclusive: bool) -> None:
    """Serialise period closes against runs dated in past periods (PostgreSQL; SQLite serialises writers anyway).

    Runs take the lock shared, so they do not wait for each other; a close takes
    it exclusively, so no run can check "not closed" and then commit into a
    period that closed in between. Held until the transaction ends.
    """
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_xact_lock{'' if exclusive else '_shared'}(%s)", [_BOOKS_LOCK])


@contextmanager
def long_statements(seconds: int | None = None) -> Iterator[None]:
    """Let this connection's statements run up to `seconds` (default ALLOCATION_RUN_TIMEOUT), then restore its limit.

    Requests keep the short statement_timeout of the settings (inside API Gateway's 29 s); a queued run on
    the worker and the management commands do long work on purpose. PostgreSQL only.
    """
    if not is_postgres():
        yield
        return
    limit = int((seconds or settings.ALLOCATION_RUN_TIMEOUT) * 1000)
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {limit}")
    try:
        yield
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")


def batch_size() -> int:
    """Return how many ids or rows one statement takes when a run loads or writes in batches."""
    return settings.ALLOCATION_BATCH_SIZE


def chunked(values: Iterable, size: int) -> Iterable[list]:
    """Yield lists of at most `size` values (for IN lists and batches)."""
    batch: list = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def decimal_sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal("0.00"))
