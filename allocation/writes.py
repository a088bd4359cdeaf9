"""The hot write path of a run, in set-based SQL.

An allocation run may write tens of thousands of results and touch as many
lots and orders. Row-by-row ORM saves take minutes, so these few statements
use what each database does fast: COPY and UPDATE ... FROM unnest() on
PostgreSQL, executemany on SQLite. Everything else stays ORM.
"""
from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from django.db import connection

from allocation.models import AllocationResult, AllocationRun
from orders.models import Order
from stock.models import Lot

RESULT_COLUMNS = (
    "run_id", "order_id", "order_line_id", "item_id", "lot_id", "allocated_quantity",
    "unit_cost", "allocated_price", "allocation_date", "method", "cost_final", "created_at",
)


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def insert_results(rows: Sequence[tuple]) -> None:
    """Insert result rows, each a tuple in RESULT_COLUMNS order."""
    if not rows:
        return
    columns = ", ".join(RESULT_COLUMNS)
    with connection.cursor() as cursor:
        if _is_postgres():
            buffer = io.StringIO()
            buffer.writelines(
                f"{run}\t{order}\t{line}\t{item}\t{lot}\t{qty}\t{cost}\t{amount}\t{day.isoformat()}\t{method}\t"
                f"{'t' if final else 'f'}\t{stamp.isoformat()}\n"
                for run, order, line, item, lot, qty, cost, amount, day, method, final, stamp in rows
            )
            buffer.seek(0)
            cursor.copy_expert(f"COPY {_table(AllocationResult)} ({columns}) FROM STDIN", buffer)
            return
        # One run's rows share their date and timestamp: adapt those once, not per row.
        first = rows[0]
        day, stamp = connection.ops.adapt_datefield_value(first[8]), connection.ops.adapt_datetimefield_value(first[11])
        adapted = [
            (*row[:6], str(row[6]), str(row[7]),
             day if row[8] == first[8] else connection.ops.adapt_datefield_value(row[8]), row[9], row[10],
             stamp if row[11] == first[11] else connection.ops.adapt_datetimefield_value(row[11]))
            for row in rows
        ]
        marks = ", ".join(["%s"] * len(RESULT_COLUMNS))
        cursor.executemany(f"INSERT INTO {_table(AllocationResult)} ({columns}) VALUES ({marks})", adapted)


def add_lot_allocations(deltas: Mapping[int, int]) -> None:
    """Add `deltas[lot_id]` (negative to release) to each lot's allocated quantity.

    The lot's CHECK constraint refuses the whole statement if any lot would be
    oversold or go below zero.
    """
    if not deltas:
        return
    table = _table(Lot)
    with connection.cursor() as cursor:
        if _is_postgres():
            cursor.execute(
                f"UPDATE {table} AS l SET allocated_quantity = l.allocated_quantity + d.delta "
                "FROM unnest(%s::bigint[], %s::integer[]) AS d(id, delta) WHERE l.id = d.id",
                [list(deltas.keys()), list(deltas.values())],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET allocated_quantity = allocated_quantity + %s WHERE id = %s",
                [(delta, lot_id) for lot_id, delta in deltas.items()],
            )


def set_order_statuses(statuses: Mapping[int, str], now: datetime) -> None:
    """Store each order's new status (`statuses[order_id]`)."""
    if not statuses:
        return
    table = _table(Order)
    with connection.cursor() as cursor:
        if _is_postgres():
            cursor.execute(
                f"UPDATE {table} AS o SET status = d.status, updated_at = %s "
                "FROM unnest(%s::bigint[], %s::text[]) AS d(id, status) WHERE o.id = d.id",
                [now, list(statuses.keys()), list(statuses.values())],
            )
        else:
            stamp = connection.ops.adapt_datetimefield_value(now)
            cursor.executemany(
                f"UPDATE {table} SET status = %s, updated_at = %s WHERE id = %s",
                [(status, stamp, order_id) for order_id, status in statuses.items()],
            )


def set_run_outcomes(run_id: int, outcomes: list[dict]) -> None:
    """Store a run's outcomes as compact JSON in one statement.

    A run over 200,000 orders has tens of MB of outcomes; going through the
    model field would encode and copy them several times over.
    """
    # One order at a time: json.dumps of the whole list holds millions of small
    # pieces at once (300 MB for 200,000 orders); this holds one string per order.
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    text = "[" + ",".join([encode(outcome) for outcome in outcomes]) + "]"
    cast = "::jsonb" if _is_postgres() else ""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table(AllocationRun)} SET outcomes = %s{cast} WHERE id = %s", [text, run_id])


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
