"""The tables a run writes by the thousand, each declared once: its columns, their kinds, and the
run-wide columns every row shares.

From one declaration come the three set-based forms of an insert: PostgreSQL's COPY (text format) and its
`INSERT ... SELECT FROM unnest(arrays)` (for a small run, inside the run's closing statement), and
SQLite's executemany of a one-row `INSERT ... VALUES`. Adding a column to results or outcomes is one line here (plus the
model and its migration); no form is written out by hand.
"""
from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

from allocation.models import AllocationResult, Event, RunOutcome
from allocation.sql import columns, rows_from

# The SQL array type of each kind of column (PostgreSQL's unnest form).
ARRAY_TYPES = {"id": "bigint", "int": "integer", "decimal": "numeric", "bool": "boolean", "text": "text", "json": "text"}
# How a value read from its array becomes the column's type (PostgreSQL's unnest form).
CASTS = {"json": "::jsonb"}


def copy_text(value: object) -> str:
    """Return a value in COPY's text format (tab-separated; \\N is NULL; backslash escapes)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "id", "int", "decimal", "bool", "text" or "json" (JSON text)


@dataclass(frozen=True)
class RowTable:
    """A table written set-based: `columns` differ per row (a row is a tuple in this order), `shared` per run."""

    model: type
    columns: tuple[Column, ...]
    shared: tuple[Column, ...]

    @property
    def table(self) -> str:
        return connection.ops.quote_name(self.model._meta.db_table)

    @property
    def names(self) -> str:
        return ", ".join(column.name for column in self.columns + self.shared)

    @property
    def plain(self) -> bool:
        """Whether no column can hold text or NULL, so a row needs no escaping in COPY."""
        return all(column.kind in ("id", "int", "decimal", "bool") for column in self.columns)

    def copy(self, cursor, rows: Sequence[tuple], shared: tuple) -> None:
        """Insert `rows` with one COPY (PostgreSQL)."""
        tail = "\t" + "\t".join(copy_text(value) for value in shared) + "\n"
        buffer = io.StringIO()
        if self.plain:  # str() of ints, Decimals and bools is what COPY reads ("True" is a boolean too)
            buffer.writelines("\t".join(map(str, row)) + tail for row in rows)
        else:
            buffer.writelines("\t".join(map(copy_text, row)) + tail for row in rows)
        buffer.seek(0)
        cursor.copy_expert(f"COPY {self.table} ({self.names}) FROM STDIN", buffer)

    def from_arrays(self, rows: Sequence[tuple], shared_sql: Sequence[str]) -> tuple[str, list]:
        """Return `INSERT ... SELECT FROM unnest(...)` of `rows` (PostgreSQL; one row: from its values, see
        `allocation.sql.rows_from`) and its parameters.

        `shared_sql` gives the SQL of each shared column (a placeholder, or a subquery such as the id of
        the run the same statement inserts).
        """
        single = len(rows) == 1
        return (_arrays_insert(self, tuple(shared_sql), single),
                columns(list(zip(*rows, strict=True)) if rows else [[] for _ in self.columns], single))

    def insert_many(self, cursor, rows: Sequence[tuple], shared: tuple) -> None:
        """Insert `rows` with one executemany of a one-row INSERT (SQLite): one short statement to prepare, whatever
        the number of rows (a multi-row INSERT's SQL grows with them, and Django rewrites its placeholders one by
        one). Decimals go in as text, through the adapter Django registers with sqlite3."""
        if not rows:
            return
        marks = ", ".join(["%s"] * (len(self.columns) + len(shared)))
        cursor.executemany(f"INSERT INTO {self.table} ({self.names}) VALUES ({marks})", [row + shared for row in rows])


@functools.cache
def _arrays_insert(target: RowTable, shared_sql: tuple[str, ...], single: bool) -> str:
    aliases = [f"c{n}" for n in range(len(target.columns))]
    picked = ", ".join(f"u.{alias}{CASTS.get(column.kind, '')}" for alias, column in zip(aliases, target.columns, strict=True))
    source = rows_from("u", aliases, [ARRAY_TYPES[column.kind] for column in target.columns], single)
    return f"INSERT INTO {target.table} ({target.names}) SELECT {picked}, {', '.join(shared_sql)} FROM {source}"


RESULTS = RowTable(
    AllocationResult,
    columns=(Column("order_id", "id"), Column("order_line_id", "id"), Column("item_id", "id"), Column("lot_id", "id"),
             Column("allocated_quantity", "int"), Column("unit_cost", "decimal"), Column("allocated_price", "decimal"),
             Column("cost_final", "bool")),
    shared=(Column("run_id", "id"), Column("allocation_date", "text"), Column("method", "text"),
            Column("created_at", "text")),
)

OUTCOMES = RowTable(
    RunOutcome,
    columns=(Column("order_id", "id"), Column("order_number", "text"), Column("status", "text"),
             Column("quantity", "int"), Column("amount", "decimal"), Column("reason", "text"),
             Column("short_lines", "int"), Column("shortfalls", "json"), Column("bases", "text")),
    shared=(Column("run_id", "id"),),
)

EVENTS = RowTable(
    Event,
    columns=(Column("type", "text"), Column("order_id", "id"), Column("sequence", "int"), Column("lot_id", "id"),
             Column("data", "text")),
    shared=(Column("run_id", "id"), Column("occurred_at", "text")),
)
