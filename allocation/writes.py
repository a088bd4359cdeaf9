"""The hot write path of a run, in set-based SQL.

An allocation run may write tens of thousands of results and outcomes and touch as many lots and
orders. Row-by-row ORM saves take minutes, so these few statements use what each database does fast
(the forms of the row tables come from their one declaration in `allocation.rows`): on PostgreSQL,
COPY (or, for a small run, arrays inside the run's closing statement) and UPDATE ... FROM unnest();
on SQLite, executemany INSERTs, one UPDATE ... IN per order status and executemany for lots.
"""
from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import attrgetter

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, IntegrityError, OperationalError, connection, connections, models

from allocation.domain import LotSnapshot, Pick
from allocation.events import RunEvents, Subscriptions, deliveries_for_run, delivery_kick
from allocation.models import AllocationRun, Delivery, DeliveryStatus, WebhookEndpoint
from allocation.rows import EVENTS, OUTCOMES, RESULTS
from allocation.sql import (
    chunked,
    columns,
    committed,
    execute,
    execute_all,
    is_postgres,
    rows_from,
    sqlite_rows_per_statement,
    table,
)
from inventory_alloc.history import ADDITION, LOG_COLUMNS, SYSTEM_USERNAME, history_record
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


def _shared(run: AllocationRun, now: datetime) -> tuple[tuple, tuple, tuple]:
    """Return the values shared by every result, outcome and event of `run`, as this database takes them."""
    if is_postgres():
        return (run.pk, run.as_of, run.method, now), (run.pk,), (run.pk, now)
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    return (run.pk, ops.adapt_datefield_value(run.as_of), run.method, stamp), (run.pk,), (run.pk, stamp)


def insert_rows(run: AllocationRun, picks: Sequence[Pick], outcomes: Sequence[tuple], events: Sequence[tuple],
                now: datetime) -> None:
    """Insert the results (one per pick), outcomes and events of a saved `run`: COPY on PostgreSQL, executemany
    on SQLite."""
    shared_results, shared_outcomes, shared_events = _shared(run, now)
    with connection.cursor() as cursor:
        for target, rows, shared in ((RESULTS, picks, shared_results), (OUTCOMES, outcomes, shared_outcomes),
                                     (EVENTS, events, shared_events)):
            for start in range(0, len(rows), COPY_ROWS):
                chunk = rows[start:start + COPY_ROWS]
                if target is RESULTS:
                    chunk = list(map(result_row, chunk))
                if is_postgres():
                    target.copy(cursor, chunk, shared)
                else:
                    target.insert_many(cursor, chunk, shared)


@functools.cache
def _run_insert(with_id: bool) -> tuple[str, tuple, tuple]:
    """Return the INSERT of a run with every column (and its id, if `with_id`), the fields in its order and the
    type of value each stores as it is (`_plain_type`)."""
    fields = tuple(f for f in AllocationRun._meta.local_concrete_fields if with_id or not f.primary_key)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    return (f"INSERT INTO {table(AllocationRun)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})", fields,
            tuple(map(_plain_type, fields)))


def _plain_type(field: models.Field) -> type | None:
    """Return the type of value that `field` would prepare for PostgreSQL unchanged (None: always ask it)."""
    for kinds, plain in (((models.BooleanField,), bool), ((models.IntegerField, models.ForeignKey), int),
                         ((models.CharField, models.TextField), str), ((models.DecimalField,), Decimal)):
        if isinstance(field, kinds):
            return plain
    return None


def _run_insert_sql(run: AllocationRun) -> tuple[str, list]:
    """Return an INSERT of `run` with every column (PostgreSQL), each value prepared by its field as `save()` does.

    Written here rather than compiled by the ORM (a third of the time) because it is part of the run's closing
    statement; a NULL, or a value of the one type a field stores unchanged (a str, choices included, for a
    text field; an int, not a bool, for an integer), skips the field's preparing.
    """
    sql, fields, plains = _run_insert(run.pk is not None)
    db = connections[DEFAULT_DB_ALIAS]
    values = []
    for field, plain in zip(fields, plains, strict=True):
        value = getattr(run, field.attname)
        if (value is None and field.null) or (plain is not None and (type(value) is plain or (
                plain is str and isinstance(value, str)))):
            values.append(value)
        else:
            values.append(field.get_db_prep_save(value, db))
    return sql, values


class LotsMoved(Exception):
    """A run planned on lots it read without locking them (`RunWrites.seen`), and by its closing statement one of
    them had changed (its item, cost or dates, or it is gone) or no longer held what the run took (or the
    statement broke another rule: the locked plan says which): nothing of the run is kept; it is planned
    again, locking its lots (`allocation.services.execute`)."""


@functools.cache
def _lots_update(checked: bool, single: bool) -> str:
    if not checked:
        return (f"UPDATE {table(Lot)} AS l SET allocated_quantity = l.allocated_quantity + d.delta "
                f"FROM {rows_from('d', ('id', 'delta'), ('bigint', 'integer'), single)} WHERE l.id = d.id")
    source = rows_from("d", ("id", "delta", "item", "cost", "received", "eta", "expires"),
                       ("bigint", "integer", "bigint", "numeric", "date", "date", "date"), single)
    return (f"UPDATE {table(Lot)} AS l SET allocated_quantity = l.allocated_quantity + d.delta "
            f"FROM {source} WHERE l.id = d.id AND l.item_id = d.item "
            "AND l.unit_cost = d.cost AND l.received_on IS NOT DISTINCT FROM d.received "
            "AND l.eta IS NOT DISTINCT FROM d.eta AND l.expires_on IS NOT DISTINCT FROM d.expires RETURNING 1")


def _lots_sql(deltas: Mapping[int, int], seen: Mapping[int, LotSnapshot] | None = None) -> tuple[str, list]:
    """Return the UPDATE adding `deltas` to the lots' allocated quantities, lot by lot in id order (as runs lock
    them). With `seen` (the lots as a run read them, unlocked) only to a lot still as it was read, returning a
    row for each lot it updated; the lot's CHECK fails it for a lot that would be oversold."""
    ids = sorted(deltas)
    single = len(ids) == 1
    quantities = [deltas[lot_id] for lot_id in ids]
    if seen is None:
        return _lots_update(False, single), columns([ids, quantities], single)
    lots = [seen[lot_id] for lot_id in ids]
    return _lots_update(True, single), columns(
        [ids, quantities, [lot.item_id for lot in lots], [lot.unit_cost for lot in lots],
         [lot.received_on for lot in lots], [lot.eta for lot in lots], [lot.expires_on for lot in lots]], single)


@functools.cache
def _statuses_update(with_steps: bool, single: bool) -> str:
    if not with_steps:
        return (f"UPDATE {table(Order)} AS o SET status = s.status, updated_at = %s "
                f"FROM {rows_from('s', ('id', 'status'), ('bigint', 'text'), single)} WHERE o.id = s.id")
    return (f"UPDATE {table(Order)} AS o SET status = COALESCE(s.status, o.status), "
            "event_sequence = o.event_sequence + COALESCE(s.step, 0), "
            "updated_at = CASE WHEN s.status IS NULL THEN o.updated_at ELSE %s END "
            f"FROM {rows_from('s', ('id', 'status', 'step'), ('bigint', 'text', 'integer'), single)} WHERE o.id = s.id")


def _statuses_sql(statuses: Mapping[int, str], now: datetime, steps: Mapping[int, int] | None = None,
                  ) -> tuple[str, list]:
    """Return an UPDATE of the orders' new statuses (a changed status stamps `updated_at`) and event sequences
    (each moved on by `steps[id]`, the order's new events)."""
    if not steps:
        single = len(statuses) == 1
        return _statuses_update(False, single), [now, *columns([list(statuses.keys()), list(statuses.values())],
                                                               single)]
    ids = sorted(statuses.keys() | steps.keys())
    single = len(ids) == 1
    return _statuses_update(True, single), [now, *columns([ids, [statuses.get(i) for i in ids],
                                                            [steps.get(i) for i in ids]], single)]


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


def set_order_statuses(statuses: Mapping[int, str], now: datetime, steps: Mapping[int, int] | None = None) -> None:
    """Store each order's new status (`statuses[order_id]`) and move its event sequence on by `steps[order_id]`.

    SQLite: one UPDATE ... WHERE id IN (...) per (status, step) and batch (a run sets a few distinct
    statuses and steps on thousands of orders).
    """
    steps = steps or {}
    if not statuses and not steps:
        return
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(*_statuses_sql(statuses, now, steps))
            return
        stamp = connection.ops.adapt_datetimefield_value(now)
        groups: dict[tuple[str | None, int], list[int]] = defaultdict(list)
        for order_id in statuses.keys() | steps.keys():
            groups[(statuses.get(order_id), steps.get(order_id, 0))].append(order_id)
        for (status, step), ids in groups.items():
            sets, params = (["status = %s", "updated_at = %s"], [status, stamp]) if status is not None else ([], [])
            if step:
                sets, params = [*sets, "event_sequence = event_sequence + %s"], [*params, step]
            for chunk in chunked(sorted(ids), sqlite_rows_per_statement(1, len(params))):
                cursor.execute(f"UPDATE {table(Order)} SET {', '.join(sets)} "
                               f"WHERE id IN ({', '.join(['%s'] * len(chunk))})", [*params, *chunk])


RUN_SUMMARY = (
    "status", "finished_at", "orders_considered", "orders_fully_allocated", "orders_partly_allocated",
    "orders_not_allocated", "allocated_quantity", "allocated_amount",
)


@dataclass
class RunWrites:
    """What a planned run writes: its picks, the lots' new allocations, the orders' new statuses, its outcome
    rows, its events (one row per order, see `allocation.event_data`) and its history entry."""

    picks: Sequence[Pick]
    deltas: Mapping[int, int]
    statuses: Mapping[int, str]
    outcomes: Sequence[tuple]
    events: RunEvents
    history: tuple[int | None, str]  # the user the run's history entry names (None: the system user), and what it says
    # The lots the run took from as it read them, when it read them without locking (PostgreSQL): the closing
    # statement fails if one of them changed, went or no longer holds what the run takes (LotsMoved).
    seen: Mapping[int, LotSnapshot] | None = None
    # The run's transaction is its own (`allocation.sql.own_transaction`): the closing statement commits it.
    commits: bool = False


# Where a new run's closing statement leaves the run's id and its number of deliveries, for the statement sent
# after it (and after its COMMIT, if it commits: a session setting outlives the commit).
_CLOSED = "allocation.closed"


def write_run(run: AllocationRun, w: RunWrites, now: datetime) -> None:
    """Write what a planned run decided: the run, its results, outcomes, events and their deliveries, its history
    entry, the lots, the orders.

    `run` is new (inserted here, with its summary) or queued (saved: its summary is updated). On PostgreSQL
    results, outcomes and events go in by COPY, or for a small run inside the one closing statement that also
    writes the run, its history entry, the deliveries (to the endpoints it reads itself), the lots and the
    orders: concurrent runs queued on the same lots then wait for as few round trips as possible.

    A new small run that planned on lots it did not lock (`w.seen`) in a transaction of its own
    (`w.commits`, see `allocation.sql.own_transaction`) sends its COMMIT in the same round trip: it holds its
    lots only while the server writes, never across a round trip to this process, and takes them last, in a
    statement of their own after everything else (`_lots_apart`). With `w.seen` a lot that changed since the
    run read it fails the statement: LotsMoved (the transaction is rolled back). The closing statement leaves
    the new run's id and its deliveries' count in a session setting (`_CLOSED`), read by the statement sent
    after it.
    """
    inline = is_postgres() and max(len(w.picks), len(w.outcomes)) <= INLINE_RESULTS
    if w.seen is not None and not (inline and run._state.adding):
        raise LotsMoved  # checked only in a new run's one closing statement: plan it again, locking the lots
    if run._state.adding and not inline:
        run.save(force_insert=True)  # the results refer to it: insert it first (its summary follows below)
    events = w.events
    if not inline:
        insert_rows(run, w.picks, w.outcomes, events.rows, now)
    if not is_postgres():
        add_lot_allocations(w.deltas)
        set_order_statuses(w.statuses, now, events.steps)
        _update_run(run)
        deliveries_for_run(run.pk, now, Subscriptions.active())
        history_record(w.history[0], run, ADDITION, message=w.history[1])
        return
    rows = (w.picks, w.outcomes, events.rows) if inline else ((), (), ())
    apart = w.commits and bool(w.deltas)  # the lots in a statement of their own, after the rest (_lots_apart)
    prefix, params = _closing_ctes(run, rows, w, events.steps, now, lots=not apart)
    if not run._state.adding:
        _update_run(run, prefix, params)
        history_record(w.history[0], run, ADDITION, message=w.history[1])
    else:
        deliveries = "(SELECT count(*) FROM dl)" if events.rows else "0"
        unmoved, checks = "", []
        if w.seen is not None and w.deltas and not apart:
            unmoved, checks = " || ' ' || allocation_lots_unmoved(%s, (SELECT count(*) FROM d))", [len(w.deltas)]
        statements = [(f"{prefix}SELECT set_config('{_CLOSED}', (SELECT id FROM n) || ' ' || {deliveries}{unmoved}, "
                       "false)", [*params, *checks])]
        if apart:
            statements.append(_lots_apart(w.deltas, w.seen))
        try:
            with connection.cursor() as cursor:
                execute_all(cursor, statements, before="SET CONSTRAINTS ALL IMMEDIATE; " if apart else "",
                            then=f"{'; COMMIT' if w.commits else ''}; SELECT current_setting('{_CLOSED}')")
                if w.commits:
                    committed()
                run.pk, delivered = map(int, cursor.fetchone()[0].split()[:2])
        except (IntegrityError, OperationalError) as error:
            if w.seen is not None and _lost_race(error):
                raise LotsMoved from error
            raise
        run._state.adding, run._state.db = False, connection.alias
        if delivered:
            delivery_kick.after_commit()
    if not inline:
        deliveries_for_run(run.pk, now, Subscriptions.active())


def _lots_apart(deltas: Mapping[int, int], seen: Mapping[int, LotSnapshot]) -> tuple[str, list]:
    """Return the statement that ends a one-order run's closing round trip (`write_run`): it adds to the lots the
    run took from, if still as read, and fails (serialization_failure) if fewer were updated.

    Sent after the statement writing everything else, with the foreign keys checked at the end of each
    statement (SET CONSTRAINTS ALL IMMEDIATE) rather than at the COMMIT: so the hot lots' row locks, which the
    next runs queue for, are held only for this UPDATE and the COMMIT, not while the run, its results,
    outcomes, events and history go in and their references are checked.
    """
    sql, values = _lots_sql(deltas, seen)
    return f"WITH d AS ({sql}) SELECT allocation_lots_unmoved(%s, (SELECT count(*) FROM d))", [*values, len(deltas)]


# What PostgreSQL says of a statement that lost a race for rows it did not lock: a CHECK broken (a lot would
# be oversold), a serialization failure (allocation_lots_unmoved: a lot changed or went), a deadlock.
_RACE_CODES = {"23514", "40001", "40P01"}


def _lost_race(error: Exception) -> bool:
    return getattr(error.__cause__, "pgcode", None) in _RACE_CODES


def _closing_ctes(run: AllocationRun, rows: tuple[Sequence, Sequence, Sequence], w: RunWrites,
                  steps: Mapping[int, int], now: datetime, *, lots: bool = True) -> tuple[str, list]:
    """Return the WITH clause of a run's closing statement (PostgreSQL) and its parameters.

    It inserts the run if it is new (`n`) with its history entry (`h`), then the results, outcomes and events
    given (`r`, `o`, `e`, naming the run by the id `n` returns) and the events' deliveries (`dl`), adds to the
    lots (`d`, unless `lots` is off) and sets the orders' statuses and sequences (`s`); the statement that follows returns the new
    run's id or updates a queued run's summary.
    """
    picks, outcomes, events = rows
    parts, params = [], []
    run_sql, run_params = ("(SELECT id FROM n)", []) if run._state.adding else ("%s", [run.pk])
    if run._state.adding:
        sql, values = _run_insert_sql(run)
        parts.append(f"n AS ({sql} RETURNING id)")
        params += values
        parts.append(f"h AS ({_history_sql()})")
        params += [now, ContentType.objects.get_for_model(AllocationRun).pk, f" {run.method} {run.as_of}", ADDITION,
                   w.history[1], w.history[0], SYSTEM_USERNAME]
    for name, target, table_rows, shared in (
            ("r", RESULTS, list(map(result_row, picks)), [run.as_of, run.method, now]),
            ("o", OUTCOMES, outcomes, []), ("e", EVENTS, events, [now])):
        if table_rows:
            sql, arrays = target.from_arrays(table_rows, [run_sql] + ["%s"] * len(shared))
            returning = " RETURNING id, type" if target is EVENTS else ""
            parts.append(f"{name} AS ({sql}{returning})")
            params += run_params + shared + arrays
    if events:
        parts.append(f"dl AS ({_deliveries_sql()})")
        params += [DeliveryStatus.PENDING, now, now]
    for name, sql_and_values in (("d", _lots_sql(w.deltas, w.seen) if w.deltas and lots else None),
                                 ("s", _statuses_sql(w.statuses, now, steps)
                                  if w.statuses or steps else None)):
        if sql_and_values:
            parts.append(f"{name} AS ({sql_and_values[0]})")
            params += sql_and_values[1]
    return (f"WITH {', '.join(parts)} " if parts else ""), params


@functools.cache
def _history_sql() -> str:
    """Return the INSERT of a new run's history entry (`inventory_alloc.history`), named by the id `n` returns,
    by its user or else the "system" user, read in the same statement (none: no entry, never a failed run)."""
    users = connection.ops.quote_name(get_user_model()._meta.db_table)
    return (f"INSERT INTO {connection.ops.quote_name(LogEntry._meta.db_table)} ({', '.join(LOG_COLUMNS)}) "
            "SELECT %s, u.id, %s, n.id::text, '#' || n.id || %s, %s, %s FROM n, "
            f"(SELECT COALESCE(%s::integer, (SELECT id FROM {users} WHERE username = %s)) AS id) u WHERE u.id IS NOT NULL")


@functools.cache
def _deliveries_sql() -> str:
    """Return the INSERT of the deliveries of the events the closing statement inserts (`e`): one per active
    endpoint that receives each event's type (its `events` list holds it, or is empty: every type)."""
    return (f"INSERT INTO {table(Delivery)} (endpoint_id, event_id, status, attempts, next_attempt_at, claim, "
            "last_error, created_at) "
            f"SELECT w.id, e.id, %s, 0, %s, '', '', %s::timestamptz FROM e JOIN {table(WebhookEndpoint)} w "
            "ON w.active AND (jsonb_array_length(w.events) = 0 OR jsonb_exists(w.events, e.type)) RETURNING 1")


def _update_run(run: AllocationRun, prefix: str = "", params: Sequence = ()) -> None:
    """Store the run's summary, after `prefix` (CTEs) whose parameters are `params`."""
    summary = [getattr(run, name) for name in RUN_SUMMARY]
    if not is_postgres():
        summary[1] = connection.ops.adapt_datetimefield_value(summary[1])
        summary[-1] = str(summary[-1])
    sets = ", ".join(f"{name} = %s" for name in RUN_SUMMARY)
    with connection.cursor() as cursor:
        execute(cursor, f"{prefix}UPDATE {table(AllocationRun)} SET {sets} WHERE id = %s", [*params, *summary, run.pk])


def decimal_sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal("0.00"))
