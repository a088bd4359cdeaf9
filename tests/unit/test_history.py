"""An item's history and the averages that follow it: moving and total average, to the cent."""
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.domain import amount_of, fraction_to_cost
from allocation.history import (
    ISSUE,
    RECEIPT,
    RELEASE,
    MovingAverage,
    StockEvent,
    issue_events,
    moving_average,
    periodic_average,
    year_start,
)

D = Decimal


def receipt(day: date, quantity: int, cost: str) -> StockEvent:
    return StockEvent(day, RECEIPT, quantity, D(cost))


L1 = receipt(date(2026, 1, 5), 100, "10")
L2 = receipt(date(2026, 1, 10), 50, "13")
L3 = receipt(date(2026, 1, 20), 100, "11.5")


def test_the_moving_average_of_the_worked_example_is_11_2_when_every_receipt_precedes_every_issue():
    events = [L1, L2, L3, *issue_events(120, date(2026, 1, 25), date(2026, 1, 5), None)]
    assert fraction_to_cost(moving_average(events, date(2026, 1, 25))) == D("11.2000")


def test_had_o1_been_allocated_on_the_15th_the_moving_average_after_l3_is_11_3846():
    o1 = issue_events(100, date(2026, 1, 15), date(2026, 1, 5), None)
    o1 += issue_events(20, date(2026, 1, 15), date(2026, 1, 10), None)
    events = [L1, L2, L3, *o1]
    assert fraction_to_cost(moving_average(events, date(2026, 1, 15))) == D("11.0000")
    assert moving_average(events, date(2026, 1, 25)) == Fraction(30 * 11 + 1150, 130)
    assert fraction_to_cost(moving_average(events, date(2026, 1, 25))) == D("11.3846")
    assert amount_of(30, D("11.3846")) == D("341.54")


def test_on_one_date_receipts_come_before_issues():
    # an issue dated the day L2 arrives takes units out after L2 came in: the average includes L2
    events = [issue_events(150, date(2026, 1, 10), date(2026, 1, 5), None)[0], L2, L1, receipt(date(2026, 1, 11), 10, "20")]
    # on hand after the 10th: 0; then 10 @20 → the average is 20, not a blend with a negative stock
    assert moving_average(events, date(2026, 1, 11)) == 20
    assert moving_average(events, date(2026, 1, 10)) == Fraction(1650, 150)


def test_a_release_puts_units_back_at_the_average_in_force_changing_on_hand_not_the_average():
    o1 = issue_events(120, date(2026, 1, 15), date(2026, 1, 5), date(2026, 1, 18))
    assert [e.kind for e in o1] == [ISSUE, RELEASE]
    events = [L1, L2, L3, *o1]
    assert moving_average(events, date(2026, 1, 18)) == 11
    # 150 on hand @11 when L3 arrives: (150 × 11 + 1150) / 250 = 11.2
    assert moving_average(events, date(2026, 1, 20)) == Fraction(2800, 250)


def test_an_issue_counts_from_its_lots_receipt_when_that_is_later():
    assert issue_events(30, date(2026, 1, 25), date(2026, 2, 10), None) == [StockEvent(date(2026, 2, 10), ISSUE, 30)]
    assert issue_events(30, date(2026, 1, 25), None, None) == []
    # a release can never precede its issue
    assert issue_events(30, date(2026, 1, 25), date(2026, 2, 10), date(2026, 2, 1))[1] == StockEvent(
        date(2026, 2, 10), RELEASE, 30)


def test_the_moving_average_is_none_before_anything_was_received():
    assert moving_average([L3], date(2026, 1, 19)) is None
    assert moving_average([], date(2026, 1, 19)) is None


def test_the_total_average_of_january_and_of_february_in_the_worked_example():
    # O1 and O2 (180) issued in January: January closes with 70 on hand @11.2
    issues = issue_events(120, date(2026, 1, 15), date(2026, 1, 5), None)
    issues += issue_events(60, date(2026, 1, 25), date(2026, 1, 10), None)
    l4 = receipt(date(2026, 2, 10), 200, "12")
    events = [L1, L2, L3, l4, *issues]
    assert periodic_average(events, date(2026, 1, 31), final=True) == Fraction(2800, 250)
    february = periodic_average(events, date(2026, 2, 28), final=True)
    assert february == Fraction(70 * 112 // 10 + 2400, 270)
    assert fraction_to_cost(february) == D("11.7926")
    assert amount_of(100, fraction_to_cost(february)) == D("1179.26")


def test_while_a_period_is_open_only_receipts_up_to_the_date_count():
    issues = issue_events(180, date(2026, 1, 25), date(2026, 1, 5), None)
    l4 = receipt(date(2026, 2, 10), 200, "12")
    events = [L1, L2, L3, l4, *issues]
    assert periodic_average(events, date(2026, 2, 5)) == Fraction(112, 10)
    assert periodic_average(events, date(2026, 2, 5), final=True) == Fraction(3184, 270)
    # in January before L3: only L1 and L2 count yet
    assert periodic_average(events, date(2026, 1, 15)) == Fraction(1650, 150)


def test_a_period_with_nothing_on_hand_and_no_receipt_keeps_the_previous_average():
    events = [L1, *issue_events(100, date(2026, 1, 6), date(2026, 1, 5), None)]
    assert periodic_average(events, date(2026, 3, 15)) == 10
    assert periodic_average(events + [receipt(date(2026, 3, 1), 10, "16")], date(2026, 3, 15)) == 16


def test_a_period_can_be_a_year():
    events = [L1, receipt(date(2026, 6, 1), 100, "20")]
    assert periodic_average(events, date(2026, 12, 31), period_start=year_start, final=True) == 15
    assert periodic_average(events, date(2026, 3, 1), period_start=year_start) == 10


# --- incremental = recomputed ------------------------------------------------

START = date(2026, 1, 1)


@st.composite
def histories(draw) -> list[StockEvent]:
    """A possible history: issues never exceed what is on hand, releases never exceed what was issued."""
    events = []
    on_hand = issued = 0
    day = START
    for _ in range(draw(st.integers(1, 25))):
        day += timedelta(days=draw(st.integers(0, 6)))
        kind = draw(st.sampled_from([RECEIPT, RECEIPT, ISSUE, RELEASE]))
        if kind == RECEIPT:
            quantity = draw(st.integers(1, 500))
            events.append(StockEvent(day, RECEIPT, quantity, D(draw(st.integers(0, 10**6))).scaleb(-4)))
            on_hand += quantity
        elif kind == ISSUE and on_hand:
            quantity = draw(st.integers(1, on_hand))
            events.append(StockEvent(day, ISSUE, quantity))
            on_hand, issued = on_hand - quantity, issued + quantity
        elif kind == RELEASE and issued:
            quantity = draw(st.integers(1, issued))
            events.append(StockEvent(day, RELEASE, quantity))
            on_hand, issued = on_hand + quantity, issued - quantity
    return draw(st.permutations(events))


@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(0, 100))
def test_a_moving_average_fed_event_by_event_equals_the_one_recomputed_from_all_events(events, offset):
    at = START + timedelta(days=offset)
    book = MovingAverage()
    for event in sorted(events, key=lambda e: (e.on, e.kind != RECEIPT)):
        if event.on <= at:
            book.apply(event)
    assert book.average == moving_average(events, at)
    # and a receipt on one date changes it the same way whichever of that date's events it is handed with
    assert moving_average(list(reversed(events)), at) == book.average


@settings(max_examples=100, deadline=None)
@given(histories())
def test_with_receipts_only_the_moving_average_is_the_exact_weighted_mean_of_the_receipts(events):
    receipts = [e for e in events if e.kind == RECEIPT]
    average = moving_average(receipts, date(2027, 1, 1))
    total = sum(e.quantity for e in receipts)
    if not receipts:
        assert average is None
    else:
        assert average == sum(Fraction(e.unit_cost) * e.quantity for e in receipts) / total
        assert min(e.unit_cost for e in receipts) <= average <= max(e.unit_cost for e in receipts)
