"""The one place that knows which database it talks to: SQLite or PostgreSQL.

The reads and writes of a run's hot path (`allocation.loads`, `allocation.writes`, `allocation.rows`) use
what each database does fast; whatever differs between the two is asked here (is it PostgreSQL? how is an
IN list written? how many parameters fit in a statement?), never decided again in those modules.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence

from django.conf import settings
from django.db import DatabaseError, connection

from inventory_alloc.statements import rows_per_statement


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def table(model) -> str:
    """Return the model's table name, quoted for the database."""
    return connection.ops.quote_name(model._meta.db_table)


def in_list(column: str, values: Sequence) -> tuple[str, list]:
    """Return `column IN (...)` (SQLite) or `column = ANY(%s)` (PostgreSQL) and its parameters."""
    if is_postgres():
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def batch_size() -> int:
    """Return how many ids or rows one statement takes when a run loads or writes in batches."""
    return settings.ALLOCATION_BATCH_SIZE


def chunked(values: Iterable, size: int) -> Iterator[list]:
    """Yield lists of at most `size` values (for IN lists and batches)."""
    batch: list = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def sqlite_rows_per_statement(width: int, fixed: int = 0) -> int:
    """Return how many rows of `width` parameters (plus `fixed` ones) fit in one SQLite statement (a batch at most)."""
    return rows_per_statement(width, fixed, batch_size())


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


@contextlib.contextmanager
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
