"""What a run cannot go below, and where its time goes (used by bench/allocate.py).

`floor(report)` measures, in the process that ran the allocation and on the same database, the driver-level
cost of what the run must do at the least: read the rows of the three tables it reads (orders, their lines,
the lots) with plain cursor fetches, and write the same rows it wrote (its results, one outcome and one
event per order, the lots' allocated quantities and the orders' statuses) into the same tables again, with
COPY on PostgreSQL and executemany on SQLite, then commit. No ORM, no allocating, no JSON: the run's
time over this floor says how much the run adds, and compares across machines.

`stage_timer()` times the stages of one run by wrapping the functions that do them: load (the reads and
locks), plan (the allocator), outcomes (outcome rows), write (the set-based writes) and commit (the rest of
the transaction's end).
"""
from __future__ import annotations

import io
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime


def _tables():
    from allocation.models import AllocationResult, Event, RunOutcome
    from orders.models import Order, OrderLine
    from stock.models import Lot

    return {name: model._meta.db_table for name, model in (
        ("result", AllocationResult), ("outcome", RunOutcome), ("event", Event), ("order", Order),
        ("line", OrderLine), ("lot", Lot))}


READS = {
    "order": "id, order_number, order_date, priority, customer_id, status, event_sequence",
    "line": "id, order_id, item_id, quantity, lot_id",
    "lot": "id, item_id, quantity, allocated_quantity, unit_cost, received_on, eta, expires_on, reference",
}
RESULT_COLUMNS = ("order_id, order_line_id, item_id, lot_id, allocated_quantity, unit_cost, allocated_price, cost_final, "
                  "run_id, allocation_date, method, created_at, shipped_quantity")
OUTCOME_COLUMNS = "order_id, order_number, status, quantity, amount, reason, short_lines, shortfalls, run_id"
EVENT_COLUMNS = "type, order_id, sequence, data, run_id, occurred_at"


def _rows(report) -> dict[str, list[tuple]]:
    """The rows the run wrote, as plain tuples (the floor writes the same number of each)."""
    run = report.run
    now = datetime.now(UTC).isoformat()
    results = [(p.order_id, p.line_id, p.item_id, p.lot_id, p.quantity, p.unit_cost, p.amount, p.cost_final,
                1, run.as_of.isoformat(), run.method, now, 0) for p in report.picks]
    outcomes = [(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], 1) for row in report.outcome_rows]
    events = [("allocation.allocated", row[0], 1, "{}", 1, now) for row in report.outcome_rows]
    deltas: dict[int, int] = defaultdict(int)
    for pick in report.picks:
        deltas[pick.lot_id] += pick.quantity
    lots = [(quantity, lot_id) for lot_id, quantity in deltas.items()]  # the bench's lots start with none allocated
    orders = [("allocated", row[0]) for row in report.outcome_rows]
    return {"result": results, "outcome": outcomes, "event": events, "lot": lots, "order": orders}


def _copy(cursor, table: str, columns: str, rows: list[tuple]) -> None:
    from allocation.rows import copy_text

    buffer = io.StringIO()
    buffer.writelines("\t".join(map(copy_text, row)) + "\n" for row in rows)
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)


def floor(report) -> dict:
    """Return the floor's reads, writes and total in seconds (see the module's docstring).

    The rows are written into the run's own tables (same indexes, same constraints, same triggers) and
    committed: the benchmark's database is a scratch one, dropped afterwards.
    """
    from django.db import connection

    tables = _tables()
    rows = _rows(report)
    postgres = connection.vendor == "postgresql"
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    began = time.perf_counter()
    for name, columns in READS.items():
        cursor.execute(f"SELECT {columns} FROM {tables[name]}")
        cursor.fetchall()
    read_s = time.perf_counter() - began
    began = time.perf_counter()
    cursor.execute("BEGIN")  # one transaction, as the run's (the driver's connection is in autocommit mode)
    if postgres:
        _copy(cursor, tables["result"], RESULT_COLUMNS, rows["result"])
        _copy(cursor, tables["outcome"], OUTCOME_COLUMNS, rows["outcome"])
        _copy(cursor, tables["event"], EVENT_COLUMNS, rows["event"])
        cursor.execute(f"UPDATE {tables['lot']} t SET allocated_quantity = u.q "
                       f"FROM unnest(%s::integer[], %s::bigint[]) AS u(q, id) WHERE t.id = u.id",
                       [[q for q, _ in rows["lot"]], [i for _, i in rows["lot"]]])
        cursor.execute(f"UPDATE {tables['order']} t SET status = u.s FROM unnest(%s::text[], %s::bigint[]) AS u(s, id) "
                       f"WHERE t.id = u.id", [[s for s, _ in rows["order"]], [i for _, i in rows["order"]]])
    else:
        def insert(name: str, columns: str, values: list[tuple]) -> None:
            marks = ", ".join("?" * len(columns.split(",")))
            cursor.executemany(f"INSERT INTO {tables[name]} ({columns}) VALUES ({marks})", values)
        insert("result", RESULT_COLUMNS, rows["result"])
        insert("outcome", OUTCOME_COLUMNS, rows["outcome"])
        insert("event", EVENT_COLUMNS, rows["event"])
        cursor.executemany(f"UPDATE {tables['lot']} SET allocated_quantity = ? WHERE id = ?", rows["lot"])
        cursor.executemany(f"UPDATE {tables['order']} SET status = ? WHERE id = ?", rows["order"])
    cursor.execute("COMMIT")
    write_s = time.perf_counter() - began
    cursor.close()
    return {"floor_read_s": round(read_s, 3), "floor_write_s": round(write_s, 3), "floor_s": round(read_s + write_s, 3)}


@contextmanager
def stage_timer():
    """Time the stages of the runs made inside the block; yields a dict of seconds by stage (filled at the end)."""
    from allocation import planning, services

    spent: dict[str, float] = defaultdict(float)
    patched = []

    def wrap(module, name: str, stage: str) -> None:
        original = getattr(module, name)

        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - began
        setattr(module, name, timed)
        patched.append((module, name, original))

    wrap(planning, "read_demands", "load")
    wrap(planning, "read_lots", "load")
    wrap(planning.loads, "order_rows", "load")
    wrap(planning, "item_costs", "load")
    wrap(planning, "allocate", "plan")
    wrap(services, "_outcome_rows", "outcomes")
    wrap(services, "_write", "write")
    wrap(services, "plan_run", "plan_run")
    began = time.perf_counter()
    try:
        yield spent
    finally:
        for module, name, original in patched:
            setattr(module, name, original)
        total = time.perf_counter() - began
        spent["plan_run_other"] = spent.pop("plan_run") - spent["load"] - spent["plan"]
        spent["commit_and_rest"] = total - sum(v for k, v in spent.items())
        spent["total"] = total
