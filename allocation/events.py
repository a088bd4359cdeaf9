"""Write domain events into the outbox, in the caller's transaction, and queue their deliveries.

Every service that changes what another system cares about (a run, a release, a cancel, a shipment, a lot
edit, a period close) records its events here before it commits: a rolled-back change leaves no event, a
committed one leaves all of its events. Events of an order are numbered from the order's
`event_sequence` (the caller holds the order locked). Each active webhook endpoint subscribed to an
event's type gets a pending delivery in the same transaction, and once the transaction commits the
dispatcher is kicked (`delivery_kick`, which `allocation.tasks` plugs in) so a delivery normally
leaves within a second.

A run writes one `allocation.allocated` event per order that got picks and one `order.short` per order
left short, set-based like its results: `run_event_rows` builds the rows of `allocation.rows.EVENTS`
and `allocation.writes` inserts them. Those rows hold no copy of the run's picks: their data is made
from the run's results and outcomes when read or sent (`allocation.event_data`).
"""
from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F

from allocation.domain import ORDERED_LATER, OutcomeStatus
from allocation.models import Delivery, DeliveryStatus, Event, EventType, WebhookEndpoint
from allocation.rows import EVENTS
from allocation.sql import batch_size, chunked, in_list, is_postgres, table
from orders.models import Order

logger = logging.getLogger(__name__)

json_text = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

SHORT = (OutcomeStatus.PARTIAL, OutcomeStatus.NOT_ALLOCATED, OutcomeStatus.SKIPPED)


# --- who listens --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Subscriptions:
    """The active endpoints and the event types each receives (`"*"`: all), read once per write.

    Read before a shipment takes its locks; a big run reads them when it writes its deliveries, and a small one
    joins the endpoints inside its closing statement instead (`allocation.writes`).
    """

    pairs: tuple[tuple[int, str], ...] = ()

    @classmethod
    def active(cls) -> Subscriptions:
        pairs = []
        for endpoint_id, types in WebhookEndpoint.objects.filter(active=True).values_list("id", "events"):
            pairs += [(endpoint_id, kind) for kind in (types or ["*"])]
        return cls(tuple(pairs))

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def endpoints_for(self, event_type: str) -> list[int]:
        return sorted({endpoint for endpoint, kind in self.pairs if kind in ("*", event_type)})


class DeliveryKick:
    """What is called once a transaction that queued deliveries commits (`allocation.tasks` plugs the
    dispatcher in); by default nothing, and the next dispatcher pass sends them."""

    def __init__(self) -> None:
        self.send: Callable[[], object] | None = None

    def after_commit(self) -> None:
        if self.send is not None:
            transaction.on_commit(self._kick)

    def _kick(self) -> None:
        try:
            self.send()
        except Exception:  # a kick is only a hurry: the scheduled pass delivers anyway
            logger.exception("Could not kick the event dispatcher; the next pass delivers")


delivery_kick = DeliveryKick()


# --- events of one change ------------------------------------------------------------------------

@dataclass
class NewEvent:
    """An event to record: its type, the order it is about (numbered from the order's sequence) and its data."""

    type: str
    data: dict
    order_id: int | None = None
    lot_id: int | None = None
    run_id: int | None = None


def events_record(events: Sequence[NewEvent], now: datetime, subscriptions: Subscriptions | None = None) -> int:
    """Write `events` (a release's, a shipment's, a lot edit's ...) and their deliveries, in the caller's
    transaction; return how many were written.

    An order event's data starts with the order (id and number) and its sequence number; the orders must
    be locked by the caller (they are, by every service that changes them). Set-based, like a run's.
    """
    if not events:
        return 0
    order_ids = sorted({event.order_id for event in events if event.order_id is not None})
    numbers, sequences = _next_sequences(order_ids, events)
    rows = []
    for event in events:
        data, sequence = event.data, None
        if event.order_id is not None:
            sequence = sequences[event.order_id] = sequences[event.order_id] + 1
            data = {"order": {"id": event.order_id, "number": numbers[event.order_id]}, "sequence": sequence, **data}
        rows.append((event.type, event.order_id, sequence, event.lot_id, json_text(data)))
    run_ids = {event.run_id for event in events}
    for run_id in sorted(run_ids, key=lambda value: value or 0):
        written = events_insert([row for row, event in zip(rows, events, strict=True) if event.run_id == run_id],
                                run_id, now)
        deliveries_create(written, now, Subscriptions.active() if subscriptions is None else subscriptions)
    return len(rows)


def events_insert(rows: Sequence[tuple], run_id: int | None, now: datetime) -> list[tuple[int, str]]:
    """Insert rows of `allocation.rows.EVENTS`; return the (id, type) of each.

    PostgreSQL: one INSERT ... SELECT FROM unnest() RETURNING. SQLite: multi-row INSERTs, then the rows
    past the highest id before them (this transaction holds SQLite's write lock, so they are its own).
    """
    with connection.cursor() as cursor:
        if is_postgres():
            sql, arrays = EVENTS.from_arrays(rows, ["%s", "%s"])
            cursor.execute(f"{sql} RETURNING id, type", [run_id, now, *arrays])
            return cursor.fetchall()
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table(Event)}")
        highest = cursor.fetchone()[0]
        EVENTS.insert_many(cursor, rows, (run_id, connection.ops.adapt_datetimefield_value(now)))
        cursor.execute(f"SELECT id, type FROM {table(Event)} WHERE id > %s ORDER BY id", [highest])
        return cursor.fetchall()


def _next_sequences(order_ids: list[int], events: Sequence[NewEvent]) -> tuple[dict[int, str], dict[int, int]]:
    """Return the orders' numbers and current sequence numbers, and move each sequence past its new events."""
    numbers, sequences = {}, {}
    for chunk in chunked(order_ids, batch_size()):
        for order_id, number, sequence in Order.objects.filter(id__in=chunk).values_list(
                "id", "order_number", "event_sequence"):
            numbers[order_id], sequences[order_id] = number, sequence
    counts: dict[int, int] = defaultdict(int)
    for event in events:
        if event.order_id is not None:
            counts[event.order_id] += 1
    by_count: dict[int, list[int]] = defaultdict(list)
    for order_id, count in counts.items():
        by_count[count].append(order_id)
    for count, ids in by_count.items():
        for chunk in chunked(sorted(ids), batch_size()):
            Order.objects.filter(id__in=chunk).update(event_sequence=F("event_sequence") + count)
    return numbers, sequences


def deliveries_create(events: Iterable[tuple[int, str]], now: datetime, subscriptions: Subscriptions) -> int:
    """Queue one pending delivery of each event (id, type) to each active endpoint that receives its type."""
    if not subscriptions:
        return 0
    rows = [Delivery(endpoint_id=endpoint, event_id=event_id, status=DeliveryStatus.PENDING, next_attempt_at=now,
                     created_at=now)
            for event_id, event_type in events for endpoint in subscriptions.endpoints_for(event_type)]
    Delivery.objects.bulk_create(rows, batch_size=1000)
    if rows:
        delivery_kick.after_commit()
    return len(rows)


def deliveries_for_run(run_id: int, now: datetime, subscriptions: Subscriptions) -> None:
    """Queue the deliveries of a run's events (written set-based) with one INSERT ... SELECT per endpoint."""
    if not subscriptions:
        return
    endpoints: dict[int, list[str]] = defaultdict(list)
    for endpoint, kind in subscriptions.pairs:
        endpoints[endpoint].append(kind)
    stamp = now if is_postgres() else connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        for endpoint, kinds in sorted(endpoints.items()):
            where, params = ("", []) if "*" in kinds else in_list("type", kinds)
            cursor.execute(
                f"INSERT INTO {table(Delivery)} (endpoint_id, event_id, status, attempts, next_attempt_at, claim, "
                "last_error, created_at) "
                f"SELECT %s, id, %s, 0, %s, '', '', %s FROM {table(Event)} WHERE run_id = %s"
                + (f" AND {where}" if where else ""),
                [endpoint, DeliveryStatus.PENDING, stamp, stamp, run_id, *params],
            )
    delivery_kick.after_commit()


# --- a run's events, set-based -------------------------------------------------------------------

@dataclass
class RunEvents:
    """The rows of `allocation.rows.EVENTS` a run writes, and how many of them each order gets (its sequence's step)."""

    rows: list[tuple] = field(default_factory=list)
    steps: dict[int, int] = field(default_factory=dict)


def run_event_rows(outcomes: Sequence[tuple], orders_with_picks: Collection[int], sequences: Mapping[int, int],
                   ) -> RunEvents:
    """Return the events of a run: per order with picks `allocation.allocated`, per short order `order.short`.

    `outcomes` are rows of `allocation.rows.OUTCOMES`; `sequences[id]` is each order's sequence number before
    the run. The rows carry no data: `allocation.event_data` makes it from the run's results and outcomes.
    """
    events = RunEvents()
    for order_id, _number, outcome_status, _quantity, _amount, reason, short_lines, *_json in outcomes:
        picked = order_id in orders_with_picks
        short = outcome_status in SHORT and short_lines and reason != ORDERED_LATER
        if not picked and not short:
            continue
        sequence = sequences[order_id]
        if picked:
            sequence += 1
            events.rows.append((EventType.ALLOCATED, order_id, sequence, None, ""))
        if short:
            sequence += 1
            events.rows.append((EventType.SHORT, order_id, sequence, None, ""))
        events.steps[order_id] = sequence - sequences[order_id]
    return events
