"""An item's stock history and the averages that follow it (pure, no Django).

The moving average (移動平均法) and the total/periodic average (総平均法)
follow the item's whole history, expired lots included. Averages are carried
exactly as fractions; rounding happens once, when a unit cost is handed out.

History events are dated as ALLOCATION.md says: a receipt on its lot's
`received_on`; an issue on its allocation date or its lot's `received_on` if
later (an issue from a lot not received yet is not in the history); a release
on its release date, never before its issue. On one date receipts come first.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from fractions import Fraction

RECEIPT, ISSUE, RELEASE = 0, 1, 2


@dataclass(slots=True)  # not frozen: a close reads tens of thousands, and a frozen __init__ costs twice as much
class StockEvent:
    on: date
    kind: int
    quantity: int
    unit_cost: Decimal = Decimal(0)


def issue_events(
    quantity: int, allocated_on: date, lot_received_on: date | None, released_on: date | None,
) -> list[StockEvent]:
    """Return the history events of one allocation result (none if its lot is not received)."""
    if lot_received_on is None:
        return []
    issued = max(allocated_on, lot_received_on)
    events = [StockEvent(issued, ISSUE, quantity)]
    if released_on is not None:
        events.append(StockEvent(max(released_on, issued), RELEASE, quantity))
    return events


def _in_date_order(events: Iterable[StockEvent]) -> list[StockEvent]:
    return sorted(events, key=lambda e: (e.on, e.kind != RECEIPT))


class MovingAverage:
    """A running moving average, fed one event at a time in date order."""

    __slots__ = ("on_hand", "average")

    def __init__(self) -> None:
        self.on_hand = 0
        self.average: Fraction | None = None

    def apply(self, event: StockEvent) -> None:
        if event.kind == RECEIPT:
            value = Fraction(event.unit_cost) * event.quantity
            held = (self.average or 0) * self.on_hand
            total = self.on_hand + event.quantity
            if total > 0:
                self.average = (held + value) / total
            self.on_hand = total
        elif event.kind == ISSUE:
            self.on_hand -= event.quantity
        else:
            self.on_hand += event.quantity


def moving_average(events: Iterable[StockEvent], at: date) -> Fraction | None:
    """Return the moving average in force at `at` (events dated after it ignored)."""
    book = MovingAverage()
    for event in _in_date_order(e for e in events if e.on <= at):
        book.apply(event)
    return book.average


def month_start(day: date) -> date:
    return day.replace(day=1)


def year_start(day: date) -> date:
    return day.replace(month=1, day=1)


def periodic_average(
    events: Iterable[StockEvent],
    at: date,
    *,
    period_start: Callable[[date], date] = month_start,
    final: bool = False,
) -> Fraction | None:
    """Return the total average of the period holding `at`.

    Earlier periods count with all their receipts; in the period itself only
    receipts on or before `at` count, unless `final` (the period is closing).
    """
    average: Fraction | None = None
    on_hand = 0
    for _, (received, value, moved) in sorted(_period_figures(events, at, period_start, final).items()):
        if on_hand + received > 0:
            average = ((average or 0) * on_hand + Fraction(value)) / (on_hand + received)
        on_hand += received + moved
    return average


def _period_figures(events: Iterable[StockEvent], at: date, period_start: Callable[[date], date],
                    final: bool) -> dict[date, list]:
    """Return per period up to the one holding `at`: the quantity received, the value received and the quantity
    moved by issues and releases.

    The value is summed in Decimal with 60 digits, which holds any sum of unit costs (4 places) times quantities
    exactly, and becomes a Fraction once per period: a Fraction per receipt took most of a period close's time.
    """
    target = period_start(at)
    starts: dict[date, date] = {}  # each date's period start, worked out once per date
    periods: dict[date, list] = {}
    with localcontext() as context:
        context.prec = 60
        for event in events:
            on = event.on
            start = starts.get(on)
            if start is None:
                start = starts[on] = period_start(on)
            if start > target or (start == target and not final and on > at):
                continue
            figures = periods.get(start)
            if figures is None:
                figures = periods[start] = [0, Decimal(0), 0]
            if event.kind == RECEIPT:
                figures[0] += event.quantity
                figures[1] += event.unit_cost * event.quantity
            elif event.kind == ISSUE:
                figures[2] -= event.quantity
            else:
                figures[2] += event.quantity
    return periods


def last_receipt_cost(events: Iterable[StockEvent], at: date) -> Decimal | None:
    """Return the unit cost of the item's most recent receipt on or before `at` (最終仕入原価).

    Receipts of one date count in the order given (the reads give them by lot id): the last one wins.
    """
    cost, latest = None, None
    for event in events:
        if event.kind == RECEIPT and event.on <= at and (latest is None or event.on >= latest):
            cost, latest = event.unit_cost, event.on
    return cost
