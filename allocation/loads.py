"""The reads of a run's hot path, in SQL: its orders, their lines, and the usable lots.

A run over 20,000 orders reads tens of thousands of rows and locks most of
them; the ORM's query building and per-value converters cost more than the
database does, and a single-order run pays that three times over. These three
statements are written once here, for PostgreSQL (row locks, `= ANY` arrays)
and SQLite (IN lists; dates and decimals come back as text and numbers).
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection

from allocation.domain import COST_PLACES
from allocation.models import AllocationResult
from allocation.sql import PREPARED_VALUES, batch_size, chunked, execute, execute_all, in_list, is_postgres, table
from inventory_alloc.errors import InvalidInput, NotFound
from orders.models import ALLOCATABLE_STATUSES, Order, OrderLine, OrderStatus
from stock.models import Lot

FETCH = 10_000


@dataclass(frozen=True, slots=True)
class OrderRow:
    """An order as a run or a release sees it."""

    id: int
    number: str
    status: str
    order_date: date
    priority: int
    customer_id: int | None
    event_sequence: int = 0  # how many events were written about the order


def order_ids(orders: Iterable | None) -> list[int] | None:
    """Return the sorted distinct ids of orders given as instances or ids (None stays None)."""
    if orders is None:
        return None
    ids = []
    for order in orders:
        value = getattr(order, "pk", order)
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise InvalidInput(f'"{value}" is not an order id.', field="orders") from None
    return sorted(set(ids))


def order_rows(ids: list[int] | None, *, lock: bool) -> list[OrderRow]:
    """Return (and lock) the given orders, or the open ones; NotFound names missing ids."""
    if ids is None:
        return [OrderRow(*row) for row in orders(None, lock=lock)]
    rows = []
    for chunk in chunked(ids, batch_size()):
        rows += [OrderRow(*row) for row in orders(chunk, lock=lock)]
    _refuse_missing(ids, rows)
    return rows


def _refuse_missing(ids: list[int], rows: list[OrderRow]) -> None:
    missing = sorted(set(ids) - {row.id for row in rows})
    if missing:
        raise NotFound(f"No order with id {', '.join(map(str, missing[:20]))}.", orders=missing)


@functools.lru_cache(maxsize=4096)
def _parse_day(text: str) -> date:
    return date.fromisoformat(text)


@functools.lru_cache(maxsize=65536)
def _parse_cost(text: str) -> Decimal:
    return Decimal(text).quantize(COST_PLACES)


def _day(value) -> date | None:
    """Return a date from PostgreSQL (a date) or SQLite (text; a few hundred distinct days)."""
    return _parse_day(value) if isinstance(value, str) else value


def _rows(sql: str, params: list, values: Sequence | None) -> Iterator[tuple]:
    """Yield the rows of `sql`; prepared (`allocation.sql.execute`) when it is given few `values` (ids)."""
    with connection.cursor() as cursor:
        execute(cursor, sql, params, prepare=values is not None and len(values) <= PREPARED_VALUES)
        while batch := cursor.fetchmany(FETCH):
            yield from batch


def orders(ids: Sequence[int] | None, *, lock: bool) -> Iterator[tuple]:
    """Yield (id, number, status, order date, priority, customer, event sequence) of the orders (None: the open
    ones), by id."""
    where, params = in_list("status", ALLOCATABLE_STATUSES) if ids is None else in_list("id", ids)
    lock_clause = " FOR UPDATE" if lock and is_postgres() else ""
    sql = (f"SELECT id, order_number, status, order_date, priority, customer_id, event_sequence FROM {table(Order)} "
           f"WHERE {where} ORDER BY id{lock_clause}")
    for order_id, number, status, ordered_on, priority, customer_id, sequence in _rows(sql, params, ids):
        yield order_id, number, status, _day(ordered_on), priority, customer_id, sequence


# A line: (id, order, item, quantity, named lot, actively allocated). A correlated sum per line (an index probe
# on result_line_idx each) rather than a join and GROUP BY: a join lets the planner scan every result ever
# written, which makes a one-order run slower as the history grows.
_LINE_COLUMNS = ("l.id, l.order_id, l.item_id, l.quantity, l.lot_id, "
                 "COALESCE((SELECT SUM(r.allocated_quantity) FROM {results} r "
                 "WHERE r.order_line_id = l.id AND r.released_at IS NULL), 0)")


def lines(order_ids: Sequence[int] | None) -> Iterator[tuple]:
    """Yield (id, order, item, quantity, named lot, actively allocated) of the orders' lines, by id."""
    if order_ids is None:
        where, params = in_list("o.status", ALLOCATABLE_STATUSES)
        join = f"JOIN {table(Order)} o ON o.id = l.order_id "
    else:
        (where, params), join = in_list("l.order_id", order_ids), ""
    sql = (f"SELECT {_LINE_COLUMNS.format(results=table(AllocationResult))} "
           f"FROM {table(OrderLine)} l {join}WHERE {where} ORDER BY l.id")
    return _rows(sql, params, order_ids)


def _usable(day, *, allow_inbound: bool) -> tuple[str, list]:
    """Return the condition on a lot a run may take from at `day` (not full, not expired, received unless inbound is
    allowed) and its parameters."""
    where = " AND allocated_quantity < quantity AND (expires_on IS NULL OR expires_on >= %s)"
    return (where, [day]) if allow_inbound else (where + " AND received_on <= %s", [day, day])


def few_orders(ids: list[int], as_of: date, *, allow_inbound: bool) -> tuple[list[OrderRow], list[tuple], list[tuple]]:
    """Lock the orders; return them (as `order_rows`), the lines of those not cancelled (as `lines` yields them)
    and, unlocked, the usable lots (as `lots` yields them) of the items those dated by `as_of` still need; in
    one round trip (PostgreSQL). NotFound names missing ids.

    A run of a few orders planned on lots it does not lock (`allocation.services.UNLOCKED_PLAN_ORDERS`)
    needs all three before it can plan, and the lines and lots depend only on the orders: so the statement
    locking the orders and the one reading everything are sent together, one after the other (the read sees
    what committed before the locks were granted, as a read sent after them would). Each table is reached by
    its index from the ids (never a join the planner might turn into a scan of every line: the plan is made
    once per connection, generic).
    """
    lock, read = _few_orders_sql(allow_inbound)
    day = _usable(as_of, allow_inbound=allow_inbound)[1]
    found: tuple[list, list, list] = ([], [], [])
    with connection.cursor() as cursor:
        execute_all(cursor, [(lock, [ids]), (read, [ids, ids, OrderStatus.CANCELLED, as_of, *day])],
                    prepare=len(ids) <= PREPARED_VALUES)
        for kind, row_id, a, b, c, d, e, cost, day1, day2, day3, text1, text2 in cursor.fetchall():
            if kind == 0:
                found[0].append(OrderRow(row_id, text1, text2, day1, a, b, c))
            elif kind == 1:
                found[1].append((row_id, a, b, c, d, e))
            else:
                found[2].append((row_id, a, b, c, cost, day1, day2, day3, text1))
    _refuse_missing(ids, found[0])
    return found


@functools.cache
def _few_orders_sql(allow_inbound: bool) -> tuple[str, str]:
    """Return the SQL of `few_orders`: the orders' lock, and the read of the orders, their lines and lots."""
    usable = _usable(None, allow_inbound=allow_inbound)[0]
    order_columns = "id, order_number, status, order_date, priority, customer_id, event_sequence"
    read = (f"WITH o AS (SELECT {order_columns} FROM {table(Order)} WHERE id = ANY(%s::bigint[])), "
            f"l AS (SELECT {_LINE_COLUMNS.format(results=table(AllocationResult))} AS done FROM {table(OrderLine)} l "
            "WHERE l.order_id = ANY(%s::bigint[]) AND l.order_id NOT IN (SELECT id FROM o WHERE status = %s)) "
            "SELECT 0 AS kind, id, priority::bigint AS a, customer_id AS b, event_sequence::bigint AS c, NULL::bigint "
            "AS d, NULL::bigint AS e, NULL::numeric AS n, order_date AS d1, NULL::date AS d2, NULL::date AS d3, "
            "order_number AS t1, status AS t2 FROM o UNION ALL "
            "SELECT 1, id, order_id, item_id, quantity, lot_id, done, NULL, NULL, NULL, NULL, NULL, NULL FROM l UNION ALL "
            "SELECT 2, id, item_id, quantity, allocated_quantity, NULL, NULL, unit_cost, received_on, eta, expires_on, "
            f"reference, NULL FROM {table(Lot)} WHERE item_id IN (SELECT item_id FROM l WHERE quantity > done "
            f"AND order_id IN (SELECT id FROM o WHERE order_date <= %s)){usable} ORDER BY kind, id")
    return f"SELECT 1 FROM {table(Order)} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE", read


def lots(item_ids: Sequence[int] | None, as_of: date, *, allow_inbound: bool, lock: bool,
         ids: Sequence[int] | None = None) -> Iterator[tuple]:
    """Yield (id, item, quantity, allocated, unit cost, received, eta, expires, reference) by id.

    The lots of `item_ids` a run may use at `as_of` (not full, not expired,
    received unless inbound is allowed), locked; or, with `ids`, those lots as
    they are (for named lots a run cannot use, to say why).
    """
    day = connection.ops.adapt_datefield_value(as_of)
    if ids is not None:
        where, params = in_list("id", ids)
    else:
        where, params = in_list("item_id", item_ids)
        usable, values = _usable(day, allow_inbound=allow_inbound)
        where, params = where + usable, [*params, *values]
    cost = "unit_cost" if is_postgres() else "CAST(unit_cost AS TEXT)"
    # A run changes only a lot's allocated quantity, never its key: NO KEY UPDATE still
    # queues other runs, releases, lot edits and deletes (all lock the lot at least as
    # strongly), but not the foreign-key check of an order line that names the lot.
    lock_clause = " FOR NO KEY UPDATE" if lock and ids is None and is_postgres() else ""
    sql = (f"SELECT id, item_id, quantity, allocated_quantity, {cost}, received_on, eta, expires_on, reference "
           f"FROM {table(Lot)} WHERE {where} ORDER BY id{lock_clause}")
    rows = _rows(sql, params, item_ids if ids is None else ids)
    for lot_id, item_id, quantity, allocated, unit_cost, received, eta, expires, reference in rows:
        if not isinstance(unit_cost, Decimal):  # SQLite: the cost as text
            unit_cost = _parse_cost(unit_cost)
        yield lot_id, item_id, quantity, allocated, unit_cost, _day(received), _day(eta), _day(expires), reference
