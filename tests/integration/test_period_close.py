"""Closing a total-average period: February of the worked example is 11.7926, an order of 100 is 1179.26."""
from datetime import date
from decimal import Decimal

import pytest

from allocation.domain import InvalidInput, PeriodClosed, PeriodNotEnded
from allocation.models import AllocationResult, ClosedPeriod, Method
from allocation.services import allocation_run, period_close
from stock.services import lot_update
from tests.factories import order_with_lines

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def february(widget_example, clock):
    """O1 and O2 allocated in January (70 left @11.2); O3 of 100 allocated on Feb 5th, before L4 arrives on the 10th."""
    clock(date(2026, 3, 15))
    allocation_run(method=Method.TOTAL_AVERAGE, as_of=date(2026, 1, 25))
    o3 = order_with_lines("O3", date(2026, 2, 2), (widget_example["item"], 100))
    report = allocation_run(method=Method.TOTAL_AVERAGE, orders=[o3], as_of=date(2026, 2, 5))
    lot_update(lot=widget_example["lots"]["L4"], received_on=date(2026, 2, 10))
    return {**widget_example, "O3": o3, "report": report}


def o3_rows() -> list[tuple]:
    return list(AllocationResult.objects.filter(order__order_number="O3").order_by("id").values_list(
        "lot__reference", "allocated_quantity", "unit_cost", "allocated_price", "cost_final",
        "provisional_unit_cost", "provisional_price",
    ))


def test_while_february_is_open_its_picks_are_provisional_at_the_average_so_far(february):
    assert o3_rows() == [
        ("L3", 70, D("11.2000"), D("784.00"), False, None, None),
        ("L4", 30, D("11.2000"), D("336.00"), False, None, None),
    ]


def test_closing_february_re_costs_its_picks_at_11_7926_and_keeps_the_provisional_cost(february, django_user_model):
    user = django_user_model.objects.create_user("controller")
    # when
    report = period_close(period="2026-02", user=user)
    # then
    assert o3_rows() == [
        ("L3", 70, D("11.7926"), D("825.48"), True, D("11.2000"), D("784.00")),
        ("L4", 30, D("11.7926"), D("353.78"), True, D("11.2000"), D("336.00")),
    ]
    assert sum(row[3] for row in o3_rows()) == D("1179.26")
    assert report.averages == {"WIDGET": "11.7926"}
    assert [(r.lot, r.quantity, r.old_unit_cost, r.new_unit_cost, r.old_amount, r.new_amount) for r in report.recosted] == [
        ("L3", 70, D("11.2000"), D("11.7926"), D("784.00"), D("825.48")),
        ("L4", 30, D("11.2000"), D("11.7926"), D("336.00"), D("353.78")),
    ]
    closed = ClosedPeriod.objects.get()
    assert (closed.start, closed.end, closed.results_recosted, closed.closed_by) == (
        date(2026, 2, 1), date(2026, 2, 28), 2, user)
    # January's picks are not February's business
    assert set(AllocationResult.objects.exclude(order__order_number="O3").values_list("cost_final", flat=True)) == {False}


def test_closing_january_keeps_its_average_of_11_2_and_finalises_its_picks(february):
    report = period_close(period="2026-01")
    assert report.averages == {"WIDGET": "11.2000"}
    assert {(r.old_unit_cost, r.new_unit_cost) for r in report.recosted} == {(D("11.2000"), D("11.2000"))}
    assert len(report.recosted) == 4
    assert set(AllocationResult.objects.filter(allocation_date__month=1).values_list("cost_final", flat=True)) == {True}


def test_a_dry_close_shows_the_new_costs_and_writes_nothing(february):
    report = period_close(period="2026-02", dry_run=True)
    assert [r.new_amount for r in report.recosted] == [D("825.48"), D("353.78")]
    assert ClosedPeriod.objects.count() == 0
    assert [row[2] for row in o3_rows()] == [D("11.2000"), D("11.2000")]


def test_a_period_that_has_not_ended_cannot_be_closed(february, clock):
    clock(date(2026, 2, 28))
    with pytest.raises(PeriodNotEnded) as raised:
        period_close(period="2026-02")
    assert isinstance(raised.value, InvalidInput) and raised.value.field == "period"
    assert ClosedPeriod.objects.count() == 0


def test_a_closed_period_cannot_be_closed_again_nor_allocated_in(february):
    period_close(period="2026-02")
    with pytest.raises(PeriodClosed):
        period_close(period="2026-02")
    before = AllocationResult.objects.count()
    with pytest.raises(PeriodClosed):
        allocation_run(method=Method.FIFO, as_of=date(2026, 2, 20))
    assert AllocationResult.objects.count() == before
    # the next period is open
    allocation_run(method=Method.FIFO, as_of=date(2026, 3, 1), dry_run=True)


@pytest.mark.parametrize("period", ["2026-13", "26-02", "February", "2026"])
def test_a_malformed_period_is_invalid_input_on_period(period):
    with pytest.raises(InvalidInput) as raised:
        period_close(period=period)
    assert raised.value.field == "period"


def test_a_february_run_after_l4_arrives_costs_11_7926_at_once(widget_example, clock):
    clock(date(2026, 3, 15))
    allocation_run(method=Method.TOTAL_AVERAGE, as_of=date(2026, 1, 25))
    lot_update(lot=widget_example["lots"]["L4"], received_on=date(2026, 2, 10))
    o3 = order_with_lines("O3", date(2026, 2, 12), (widget_example["item"], 100))
    report = allocation_run(method=Method.TOTAL_AVERAGE, orders=[o3], as_of=date(2026, 2, 15))
    assert [(p.quantity, p.unit_cost, p.amount) for p in report.picks] == [
        (70, D("11.7926"), D("825.48")), (30, D("11.7926"), D("353.78")),
    ]


def test_with_yearly_periods_the_total_average_spans_the_year(widget_example, clock, settings):
    # given: a year as the period; L4 arrives in February
    settings.ALLOCATION_PERIOD = "year"
    clock(date(2027, 1, 10))
    allocation_run(method=Method.TOTAL_AVERAGE, as_of=date(2026, 1, 25))
    lot_update(lot=widget_example["lots"]["L4"], received_on=date(2026, 2, 10))
    # when
    with pytest.raises(InvalidInput):
        period_close(period="2026-01")
    report = period_close(period="2026")
    # then: (2800 + 2400) / 450 = 11.5556 for the whole year
    assert report.averages == {"WIDGET": "11.5556"}
    assert {r.new_unit_cost for r in report.recosted} == {D("11.5556")}
    assert ClosedPeriod.objects.get().end == date(2026, 12, 31)
    # and a run dated in the closed year is refused naming the year, as it was closed
    with pytest.raises(PeriodClosed, match=r"^Period 2026 is closed: allocate at a date after 2026-12-31\.$"):
        allocation_run(method=Method.TOTAL_AVERAGE, as_of=date(2026, 6, 1))
