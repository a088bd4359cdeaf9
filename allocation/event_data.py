"""The data of a run's events, made from the run's own rows when an event is read or sent.

A run writes one `allocation.allocated` event per order that got picks and one `order.short` per order
left short. Their picks and shortfalls are already written once, as the run's results and outcomes,
so the events carry no copy of them (their `data` is empty): writing the same picks twice, as JSON,
was a quarter of a 50,000-line run. What they say is made here, from rows that keep what they said:

- the outcome row of (run, order): the order's number then, what the run did, its quantity, amount,
  reason and shortfalls (item codes as they were);
- the run's results for the order, in the order they were picked: a result's quantity and line never
  change, and its cost at allocation is kept by a period close (`provisional_unit_cost`, ...), so a
  re-costed pick still reads as it was allocated;
- the run's date and method.

The item code and lot reference of a pick are read with it (ids never change; a renamed lot shows its
new reference). Every other event carries its data as written.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.db.models import Count, Q

from allocation.events import json_text
from allocation.models import AllocationResult, AllocationRun, Event, EventType, RunOutcome

RUN_EVENT_TYPES = (EventType.ALLOCATED, EventType.SHORT)

# One pick of an allocation.allocated event: line, item code, lot, lot reference, quantity, unit cost, amount,
# whether the cost is final.
PICK = ('{"line":%d,"item_code":%s,"lot":%d,"lot_reference":%s,"quantity":%d,"unit_cost":"%s","amount":"%s",'
        '"cost_final":%s}')
BOOLEAN = {True: "true", False: "false"}
PICK_CHARS = 150  # about the characters of one pick in an event's data (for weighing a page)


def made_from_run(event: Event) -> bool:
    return event.type in RUN_EVENT_TYPES and event.run_id is not None and not event.data


def fill_data(events: Iterable[Event]) -> None:
    """Give each of a run's events in `events` its data (JSON text), with a few queries for all of them."""
    wanted = [event for event in events if made_from_run(event)]
    if not wanted:
        return
    pairs = {(event.run_id, event.order_id) for event in wanted}
    pair_filter = _pairs_filter(pairs)
    runs = {pk: (as_of, method) for pk, as_of, method in AllocationRun.objects.filter(
        id__in={run for run, _ in pairs}).values_list("id", "as_of", "method")}
    outcomes = {(row[0], row[1]): row[2:] for row in RunOutcome.objects.filter(pair_filter).values_list(
        "run_id", "order_id", "order_number", "status", "quantity", "amount", "reason", "shortfalls")}
    picks: dict[tuple[int, int], list[str]] = defaultdict(list)
    for run, order, *pick in AllocationResult.objects.filter(pair_filter).order_by("id").values_list(
            "run_id", "order_id", "order_line_id", "item__item_code", "lot_id", "lot__reference", "allocated_quantity",
            "unit_cost", "allocated_price", "cost_final", "provisional_unit_cost", "provisional_price"):
        picks[(run, order)].append(_pick_text(*pick))
    for event in wanted:
        key = (event.run_id, event.order_id)
        event.data = _data_text(event, runs.get(event.run_id), outcomes.get(key), picks.get(key, []))


def run_event_picks(events: Mapping[int, tuple[int, int]]) -> dict[int, int]:
    """Return how many picks each of a run's `allocation.allocated` events tells of (`events[id]`: its run and
    order): what its data's size grows with. One query."""
    if not events:
        return {}
    counts = {(run, order): n for run, order, n in AllocationResult.objects.filter(
        _pairs_filter(set(events.values()))).order_by().values("run_id", "order_id").annotate(n=Count("id")).values_list(
        "run_id", "order_id", "n")}
    return {pk: counts.get(key, 0) for pk, key in events.items()}


def _pairs_filter(pairs: set[tuple[int, int]]) -> Q:
    by_run: dict[int, list[int]] = defaultdict(list)
    for run, order in pairs:
        by_run[run].append(order)
    query = Q(pk__in=[])
    for run, orders in by_run.items():
        query |= Q(run_id=run, order_id__in=orders)
    return query


def _pick_text(line, item_code, lot, lot_reference, quantity, unit_cost, amount, cost_final, provisional_cost,
               provisional_amount) -> str:
    if provisional_cost is not None:  # re-costed by a period close: as it was allocated
        unit_cost, amount, cost_final = provisional_cost, provisional_amount, False
    return PICK % (line, json_text(item_code), lot, json_text(lot_reference), quantity, unit_cost, amount,
                   BOOLEAN[cost_final])


def _data_text(event: Event, run: tuple | None, outcome: tuple | None, picks: list[str]) -> str:
    as_of, method = run or (None, "")
    number, status, quantity, amount, reason, shortfalls = outcome or ("", "", 0, "0.00", "", [])
    head = (f'{{"order":{{"id":{event.order_id},"number":{json_text(number)}}},"sequence":{event.sequence},'
            f'"run":{event.run_id},"as_of":{json_text(as_of.isoformat() if as_of else None)},'
            f'"method":{json_text(method)},"outcome":{json_text(status)}')
    if event.type == EventType.ALLOCATED:
        return f'{head},"quantity":{quantity},"amount":"{amount}","picks":[{",".join(picks)}]}}'
    return f'{head},"reason":{json_text(reason)},"shortfalls":{json_text(shortfalls)}}}'
