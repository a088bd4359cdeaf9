"""The hot write path of a run, in set-based SQL.

An allocation run may write tens of thousands of results and touch as many
lots and orders. Row-by-row ORM saves take minutes, so these few statements
use what each database does fast: COPY and UPDATE ... FROM unnest() on
PostgreSQL, executemany on SQLite. Everything else stays ORM.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.db import connection

from allocation.models import AllocationResult
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


def _copy_text(value: object) -> str:
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def insert_results(rows: Sequence[tuple]) -> None:
    """Insert result rows, each a tuple in RESULT_COLUMNS order."""
    if not rows:
        return
    columns = ", ".join(RESULT_COLUMNS)
    with connection.cursor() as cursor:
        if _is_postgres():
            buffer = io.StringIO()
            buffer.writelines("\t".join(map(_copy_text, row)) + "\n" for row in rows)
            buffer.seek(0)
            cursor.copy_expert(f"COPY {_table(AllocationResult)} ({columns}) FROM STDIN", buffer)
            return
        ops = connection.ops
        adapted = [
            (*row[:6], ops.adapt_decimalfield_value(row[6]), ops.adapt_decimalfield_value(row[7]),
             ops.adapt_datefield_value(row[8]), row[9], row[10], ops.adapt_datetimefield_value(row[11]))
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
