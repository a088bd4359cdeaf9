"""The one place that knows which database it talks to: SQLite or PostgreSQL.

The reads and writes of a run's hot path (`allocation.loads`, `allocation.writes`, `allocation.rows`) use
what each database does fast; whatever differs between the two is asked here (is it PostgreSQL? how is an
IN list written? how many parameters fit in a statement?), never decided again in those modules.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections

from inventory_alloc.statements import rows_per_statement


@functools.cache
def is_postgres() -> bool:
    """Whether the database is PostgreSQL (it does not change while the process runs; asked on every statement)."""
    return connection.vendor == "postgresql"


@functools.cache
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


def rows_from(alias: str, names: Sequence[str], types: Sequence[str], single: bool) -> str:
    """Return a FROM item (PostgreSQL) giving rows `alias`(`names`) from one parameter per column: arrays of
    `types` (unnest), or with `single` the one row's values, a plan with no function scan and no join for the
    one-order runs (`columns` gives the parameters of either)."""
    if single:
        return f"(SELECT {', '.join(f'%s::{kind} AS {name}' for name, kind in zip(names, types, strict=True))}) AS {alias}"
    return f"unnest({', '.join(f'%s::{kind}[]' for kind in types)}) AS {alias}({', '.join(names)})"


def columns(values: Sequence[Sequence], single: bool) -> list:
    """Return the parameters of `rows_from` for `values` (one sequence per column): the lists, or each one's
    single value."""
    return [column[0] for column in values] if single else [list(column) for column in values]


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


# A statement a connection has run this many times (PostgreSQL) is prepared on it (`execute`).
PREPARE_AFTER = 1
# Arrays of at most this many values go to prepared statements: a bigger run's reads keep a plan made for
# their own sizes.
PREPARED_VALUES = 100


def execute(cursor, sql: str, params: Sequence, *, prepare: bool = True, then: str = "") -> None:
    """Execute `sql` (with `%s` placeholders) on PostgreSQL as a statement prepared on this connection.

    Parsing and planning the statements of a one-order run cost the server more than running them. So at a
    statement's second use on a connection it is PREPAREd there, in the same round trip as its first EXECUTE,
    and EXECUTEd from then on; each parameter is passed with the cast its placeholder has in `sql` (an array
    of NULLs is otherwise text[]). The settings start every connection with plan_cache_mode =
    force_generic_plan, so it is planned once (PostgreSQL would otherwise plan the reads again at every call:
    one id looks cheaper than the generic plan's guess). A connection opened for one request (CONN_MAX_AGE 0)
    runs each statement once: nothing is prepared. `DJANGO_DB_PREPARE=off` (PgBouncer in transaction mode, or
    RDS Proxy where a session that prepares is pinned) turns it off; so does `prepare`. `then` (SQL without
    parameters) is sent after it in the same round trip.
    """
    execute_all(cursor, [(sql, params)], prepare=prepare, then=then)


def execute_all(cursor, statements: Sequence[tuple[str, Sequence]], *, prepare: bool = True, before: str = "",
                then: str = "") -> None:
    """Send `statements` ((sql, params) each, prepared as `execute` prepares one) in one round trip, after
    `before` and before `then` (SQL without parameters); the cursor holds the last one's rows."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy looks it up again
    if getattr(db, "own_transaction", None) == BEGIN_NEXT:  # the first statement of own_transaction
        db.own_transaction = BEGUN
        before = "BEGIN; " + before
    if not prepare or not settings.DB_PREPARE or not is_postgres():
        texts = [sql for sql, _ in statements]
    else:
        raw = db.connection
        known = getattr(db, "_prepared_statements", None)
        if known is None or known[0] is not raw:  # a new connection has none of them
            known = db._prepared_statements = (raw, {})
        texts = [_prepared_text(known[1], sql) for sql, _ in statements]
    if len(statements) == 1:
        cursor.execute(before + texts[0] + then, statements[0][1])
    else:
        cursor.execute(before + "; ".join(texts) + then, [value for _, params in statements for value in params])


def _prepared_text(calls: dict, sql: str) -> str:
    """Return what to send for `sql` on a connection that has run or prepared the statements in `calls`: `sql`
    itself, then its PREPARE and first EXECUTE, then its EXECUTE."""
    call = calls.get(sql, 0)
    if not isinstance(call, int):
        return call
    if call < PREPARE_AFTER:
        calls[sql] = call + 1
        return sql
    # Counted as prepared from here on: PREPARE outlives a transaction that fails after it.
    preparing, calls[sql] = _prepared_forms(sql)
    return f"{preparing}; {calls[sql]}"


_PLACEHOLDER = re.compile(r"%s((?:::[a-z]+(?: [a-z]+)*(?:\[\])?)?)")


def _prepared_forms(sql: str) -> tuple[str, str]:
    """Return the PREPARE of `sql` and the EXECUTE of it with a placeholder (cast as in `sql`) per parameter."""
    name = "alloc_" + hashlib.sha1(sql.encode()).hexdigest()[:24]
    casts: list[str] = []

    def number(match: re.Match) -> str:
        casts.append(match.group(1))
        return f"${len(casts)}{match.group(1)}"

    numbered = _PLACEHOLDER.sub(number, sql)
    return f"PREPARE {name} AS {numbered}", f"EXECUTE {name}({', '.join(f'%s{cast}' for cast in casts)})"


# The states of `own_transaction` on a connection.
BEGIN_NEXT, BEGUN, COMMITTED = "begin next", "begun", "committed"


@contextlib.contextmanager
def own_transaction() -> Iterator[None]:
    """Run the block in one transaction that its own statements begin and end, outside Django's (PostgreSQL).

    Django's atomic() costs two round trips of its own: psycopg2 sends BEGIN before the first statement, and
    COMMIT after the last. Here, with the connection left in autocommit, the first statement sent through
    `execute` carries the BEGIN, and the last must carry the COMMIT and say so (`committed`): a one-order
    run's closing statement does (`allocation.writes.write_run`). If the block raises, or ends without that
    COMMIT, the transaction is rolled back. Nothing inside may open an atomic block (its COMMIT would end
    this transaction early): the run's path opens none. `transaction.on_commit` runs its callbacks at once
    here, so it is called only after the COMMIT.
    """
    connection.ensure_connection()
    connection.own_transaction = BEGIN_NEXT
    try:
        yield
        if connection.own_transaction != COMMITTED:
            raise RuntimeError("A transaction of its own ended without its COMMIT.")
    except BaseException:
        if connection.own_transaction == BEGUN and connection.connection is not None:
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
        raise
    finally:
        connection.own_transaction = None


def committed() -> None:
    """Say that the statement just sent committed the transaction `own_transaction` began."""
    connection.own_transaction = COMMITTED
