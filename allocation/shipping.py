"""The service that ships: `order_ship` sends allocated units of an order out of the warehouse.

Like a run and a release, shipping locks the order, then the lots of the picks it takes from, both in
primary-key order. It takes the units asked for from each line's active picks in id order (a pick may
ship in parts), writes one Shipment with one ShipmentPick per pick it took from, adds to the picks' and
the lots' shipped quantities (set-based: one statement each), sets the order's status (`shipped` once
every line is fully shipped, else `partially_shipped`) and records one `order.shipped` event. Costs are
never touched. A shipped pick is never released and an order with shipped goods is never cancelled
(`allocation.releases`). A `reference` (a warehouse's or carrier's) given twice for one order is refused
the second time, so a warehouse that retries its callback never ships twice.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from allocation import loads
from allocation.events import NewEvent, Subscriptions, events_record
from allocation.models import AllocationResult, EventType, Shipment, ShipmentPick
from allocation.releases import order_statuses_refresh, orders_history
from allocation.sql import is_postgres, table
from inventory_alloc.errors import Conflict, InvalidInput
from orders.models import Order, OrderLine, OrderStatus
from stock.models import Lot

REFERENCE_LENGTH = Shipment._meta.get_field("reference").max_length
REFUSALS_NAMED = 20  # lines named in one refusal's message (its data names them all)


@dataclass(frozen=True)
class LineRequest:
    """One line to ship: its id, and how many units (None: all it holds allocated and not shipped)."""

    line: int
    quantity: int | None = None

    @classmethod
    def of(cls, value: LineRequest | Mapping) -> LineRequest:
        """Return a line request from `{"line": id, "quantity": n}` (quantity optional); 400 on anything else."""
        if isinstance(value, LineRequest):
            return value
        if not isinstance(value, Mapping) or set(value) - {"line", "quantity"} or "line" not in value:
            raise InvalidInput('Each line to ship is {"line": id, "quantity": n}, quantity optional.', field="lines")
        line, quantity = value["line"], value.get("quantity")
        if isinstance(line, bool) or not isinstance(line, int) or line < 1:
            raise InvalidInput(f'"{line}" is not a line id.', field="lines")
        if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1):
            raise InvalidInput(f"Line {line}: ship a whole number of units above zero, not {quantity}.", field="lines")
        return cls(line, quantity)


@dataclass(frozen=True)
class OpenPick:
    """An active pick of the order with units allocated and not shipped yet."""

    result: int
    line: int
    lot: int
    lot_reference: str
    unshipped: int
    unit_cost: Decimal
    expires_on: date | None


@dataclass
class ShipReport:
    """What `order_ship` did: the shipment, the order's new status, the units shipped, and per line the
    units and the picks they came from (as the `order.shipped` event tells them)."""

    shipment: Shipment
    status: str
    quantity: int
    lines: list[dict]


def order_ship(*, order: Order | int, lines: Sequence[LineRequest | Mapping] | None = None, reference: str = "",
               user=None) -> ShipReport:
    """Ship an order's allocated units: every line's (`lines` None), or the lines and quantities given."""
    asked = _requests(lines)
    reference = _reference(reference)
    order_id = loads.order_ids([order])[0]
    listeners = Subscriptions.active()  # read before the locks, as a run does
    with transaction.atomic():
        row = loads.order_rows([order_id], lock=True)[0]
        _refuse_closed(row, reference)
        codes = dict(OrderLine.objects.filter(order_id=order_id).order_by("id").values_list("id", "item__item_code"))
        taken = _take(row.number, asked, _open_picks(order_id), codes)
        now = timezone.now()
        shipment = _write(order_id, taken, reference, user, now)
        status = order_statuses_refresh([order_id], now)[order_id]
        shipped = _shipped_lines(taken, codes)
        events_record([NewEvent(EventType.SHIPPED, {
            "status": status, "quantity": shipment.quantity, "reference": reference, "shipment": shipment.pk,
            "shipped_at": now.isoformat(), "lines": shipped}, order_id=order_id)], now, listeners)
        orders_history(user, {order_id: f"Shipped {shipment.quantity} units (shipment {shipment.pk}"
                                        + (f", reference {reference})." if reference else ").")})
    if isinstance(order, Order):
        order.status = status
    return ShipReport(shipment, status, shipment.quantity, shipped)


def _requests(lines: Sequence | None) -> list[LineRequest] | None:
    if lines is None:
        return None
    if isinstance(lines, str | bytes | Mapping) or not isinstance(lines, Sequence):
        raise InvalidInput("Give the lines to ship as a list, or leave them out to ship everything.", field="lines")
    asked = [LineRequest.of(value) for value in lines]
    if not asked:
        raise InvalidInput("Name at least one line to ship, or leave the lines out to ship everything.", field="lines")
    if twice := sorted(line for line, count in Counter(a.line for a in asked).items() if count > 1):
        raise InvalidInput(f"Line {', '.join(map(str, twice))} is named more than once.", field="lines", lines=twice)
    return asked


def _reference(reference: str | None) -> str:
    if reference is None:
        return ""
    if not isinstance(reference, str):
        raise InvalidInput("The reference is text.", field="reference")
    reference = reference.strip()
    if len(reference) > REFERENCE_LENGTH:
        raise InvalidInput(f"A reference holds at most {REFERENCE_LENGTH} characters.", field="reference")
    return reference


def _refuse_closed(row: loads.OrderRow, reference: str) -> None:
    """Refuse a cancelled order, and a reference the order has shipped under already (the order is locked)."""
    if row.status == OrderStatus.CANCELLED:
        raise Conflict(f"Order {row.number} is cancelled; nothing of it can ship.", order=row.number)
    if not reference:
        return
    earlier = Shipment.objects.filter(order_id=row.id, reference=reference).values_list("id", "shipped_at").first()
    if earlier is not None:
        raise Conflict(
            f'Order {row.number} already shipped under reference "{reference}": shipment {earlier[0]} '
            f"of {timezone.localtime(earlier[1]):%Y-%m-%d %H:%M}. Nothing was shipped again.",
            order=row.number, reference=reference, shipment=earlier[0])


def _open_picks(order_id: int) -> list[OpenPick]:
    """Return the order's active picks holding units not shipped yet, by id."""
    rows = (AllocationResult.objects.active().filter(order_id=order_id, allocated_quantity__gt=F("shipped_quantity"))
            .annotate(unshipped=F("allocated_quantity") - F("shipped_quantity")).order_by("id")
            .values_list("id", "order_line_id", "lot_id", "lot__reference", "unshipped", "unit_cost", "lot__expires_on"))
    return [OpenPick(*row) for row in rows]


def _take(number: str, asked: list[LineRequest] | None, picks: list[OpenPick], codes: dict[int, str],
          ) -> list[tuple[OpenPick, int]]:
    """Return (pick, units) to ship: all of every pick, or each line's units asked from its picks in id order."""
    if asked is None:
        if not picks:
            raise Conflict(f"Order {number} has nothing allocated and not shipped.", order=number)
        return [(pick, pick.unshipped) for pick in picks]
    if strangers := sorted(a.line for a in asked if a.line not in codes):
        raise InvalidInput(f"Line {', '.join(map(str, strangers[:REFUSALS_NAMED]))} is not a line of order {number}.",
                           field="lines", lines=strangers)
    by_line: dict[int, list[OpenPick]] = defaultdict(list)
    for pick in picks:
        by_line[pick.line].append(pick)
    taken, short = [], []
    for request in sorted(asked, key=lambda a: a.line):
        holds = sum(pick.unshipped for pick in by_line[request.line])
        wanted = holds if request.quantity is None else request.quantity
        if not holds or wanted > holds:
            short.append({"line": request.line, "item_code": codes[request.line], "unshipped": holds,
                          "asked": request.quantity})
            continue
        for pick in by_line[request.line]:
            units = min(pick.unshipped, wanted)
            if units:
                taken.append((pick, units))
                wanted -= units
    if short:
        raise Conflict(_short_message(number, short), order=number, lines=short)
    return sorted(taken, key=lambda pair: pair[0].result)


def _short_message(number: str, short: list[dict]) -> str:
    """Say which lines cannot ship what was asked: "line 5 (WIDGET): 10 allocated and not shipped, 12 asked"."""
    parts = [
        f"line {s['line']} ({s['item_code']}): nothing allocated and not shipped" if s["asked"] is None else
        f"line {s['line']} ({s['item_code']}): {s['unshipped']} allocated and not shipped, {s['asked']} asked"
        for s in short[:REFUSALS_NAMED]]
    more = f" and {len(short) - REFUSALS_NAMED} more lines" if len(short) > REFUSALS_NAMED else ""
    return f"Order {number} cannot ship that: {'; '.join(parts)}{more}."


def _write(order_id: int, taken: list[tuple[OpenPick, int]], reference: str, user, now) -> Shipment:
    """Lock the lots, then write the shipment, its picks, and the shipped quantities of the results and lots."""
    lots: dict[int, int] = defaultdict(int)
    for pick, units in taken:
        lots[pick.lot] += units
    # NO KEY UPDATE, like a run and a release: lot edits, runs and releases on these lots wait for us.
    list(Lot.objects.select_for_update(no_key=True).filter(id__in=sorted(lots)).order_by("id").values_list("id"))
    shipment = Shipment.objects.create(order_id=order_id, reference=reference, quantity=sum(lots.values()),
                                       shipped_at=now, shipped_by=user if getattr(user, "pk", None) else None)
    ShipmentPick.objects.bulk_create([ShipmentPick(shipment=shipment, result_id=pick.result, quantity=units)
                                      for pick, units in taken], batch_size=1000)
    add_shipped_quantities(AllocationResult, {pick.result: units for pick, units in taken})
    add_shipped_quantities(Lot, lots)
    return shipment


def add_shipped_quantities(model: type[Lot] | type[AllocationResult], deltas: Mapping[int, int]) -> None:
    """Add `deltas[id]` to the shipped quantity of each lot or allocation result (`model`) of that id.

    Their CHECK constraints (shipped within allocated) refuse the whole statement if any row would ship
    more than it holds. PostgreSQL: one UPDATE ... FROM unnest(); SQLite: executemany (as `allocation.writes`).
    """
    if model not in (Lot, AllocationResult):
        raise ValueError(f"{model.__name__} has no shipped quantity")
    if not deltas:
        return
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(f"UPDATE {table(model)} AS t SET shipped_quantity = t.shipped_quantity + d.delta "
                           "FROM unnest(%s::bigint[], %s::integer[]) AS d(id, delta) WHERE t.id = d.id",
                           [list(deltas.keys()), list(deltas.values())])
        else:
            cursor.executemany(f"UPDATE {table(model)} SET shipped_quantity = shipped_quantity + %s WHERE id = %s",
                               [(delta, row_id) for row_id, delta in deltas.items()])


def _shipped_lines(taken: list[tuple[OpenPick, int]], codes: dict[int, str]) -> list[dict]:
    """Return per line (by id) the units shipped and the picks they came from, as the event tells them."""
    by_line: dict[int, list[dict]] = defaultdict(list)
    for pick, units in taken:
        by_line[pick.line].append({
            "result": pick.result, "lot": pick.lot, "lot_reference": pick.lot_reference, "quantity": units,
            "unit_cost": str(pick.unit_cost), "expires_on": pick.expires_on.isoformat() if pick.expires_on else None})
    return [{"line": line, "item_code": codes[line], "quantity": sum(p["quantity"] for p in picks), "picks": picks}
            for line, picks in sorted(by_line.items())]
