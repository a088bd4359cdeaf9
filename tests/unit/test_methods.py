"""The pure allocation methods (no database): the worked example of ALLOCATION.md to the cent, and each rule."""
from datetime import date
from decimal import Decimal

import pytest

from allocation.allocator import allocate
from allocation.domain import (
    InvalidInput,
    LineDemand,
    LotSnapshot,
    OrderDemand,
    OutcomeStatus,
    UnknownMethod,
    amount_of,
    fraction_to_cost,
    round_cost,
    round_money,
)
from allocation.history import RECEIPT, StockEvent, moving_average, periodic_average
from allocation.methods import REGISTRY, get_method
from allocation.models import Method

D = Decimal
WIDGET, GADGET = 1, 2
AS_OF = date(2026, 1, 25)
L1, L2, L3, L4 = 1, 2, 3, 4


def widget_lots() -> list[LotSnapshot]:
    return [
        LotSnapshot(L1, WIDGET, 100, D("10.0000"), date(2026, 1, 5), reference="L1"),
        LotSnapshot(L2, WIDGET, 50, D("13.0000"), date(2026, 1, 10), reference="L2"),
        LotSnapshot(L3, WIDGET, 100, D("11.5000"), date(2026, 1, 20), reference="L3"),
        LotSnapshot(L4, WIDGET, 200, D("12.0000"), None, eta=date(2026, 2, 10), reference="L4"),
    ]


def order(order_id: int, *lines: tuple) -> OrderDemand:
    """An order whose lines are (line_id, item_id, quantity) or (line_id, item_id, quantity, lot_id)."""
    return OrderDemand(order_id, tuple(LineDemand(line[0], order_id, line[1], line[2], *line[3:]) for line in lines))


O1 = order(1, (11, WIDGET, 120))
O2 = order(2, (21, WIDGET, 60))


def widget_receipts() -> list[StockEvent]:
    return [
        StockEvent(lot.received_on, RECEIPT, lot.available, lot.unit_cost)
        for lot in widget_lots() if lot.received_on is not None
    ]


def history_costs(method: str) -> dict[int, Decimal | None]:
    if method == "MOVING_AVERAGE":
        return {WIDGET: fraction_to_cost(moving_average(widget_receipts(), AS_OF))}
    if method == "TOTAL_AVERAGE":
        return {WIDGET: fraction_to_cost(periodic_average(widget_receipts(), AS_OF))}
    return {}


def rows(plan, order_id: int) -> list[tuple[int, int, Decimal, Decimal]]:
    return [(p.lot_id, p.quantity, p.unit_cost, p.amount) for p in plan.picks if p.order_id == order_id]


WORKED_EXAMPLE = {
    "FIFO": (
        [(L1, 100, D("10"), D("1000.00")), (L2, 20, D("13"), D("260.00"))],
        [(L2, 30, D("13"), D("390.00")), (L3, 30, D("11.5"), D("345.00"))],
    ),
    "LIFO": (
        [(L3, 100, D("11.5"), D("1150.00")), (L2, 20, D("13"), D("260.00"))],
        [(L2, 30, D("13"), D("390.00")), (L1, 30, D("10"), D("300.00"))],
    ),
    "AVERAGE": (
        [(L1, 100, D("11.2000"), D("1120.00")), (L2, 20, D("11.2000"), D("224.00"))],
        [(L2, 30, D("11.8462"), D("355.39")), (L3, 30, D("11.8462"), D("355.39"))],
    ),
    "MOVING_AVERAGE": (
        [(L1, 100, D("11.2000"), D("1120.00")), (L2, 20, D("11.2000"), D("224.00"))],
        [(L2, 30, D("11.2000"), D("336.00")), (L3, 30, D("11.2000"), D("336.00"))],
    ),
    "TOTAL_AVERAGE": (
        [(L1, 100, D("11.2000"), D("1120.00")), (L2, 20, D("11.2000"), D("224.00"))],
        [(L2, 30, D("11.2000"), D("336.00")), (L3, 30, D("11.2000"), D("336.00"))],
    ),
}


@pytest.mark.parametrize("method", sorted(WORKED_EXAMPLE))
def test_the_worked_example_comes_out_to_the_cent(method):
    plan = allocate(method, [O1, O2], widget_lots(), as_of=AS_OF, item_costs=history_costs(method))
    o1, o2 = WORKED_EXAMPLE[method]
    assert rows(plan, 1) == o1
    assert rows(plan, 2) == o2
    assert [o.status for o in plan.outcomes] == [OutcomeStatus.ALLOCATED, OutcomeStatus.ALLOCATED]
    assert plan.outcomes[0].amount == sum(r[3] for r in o1)
    assert plan.outcomes[1].quantity == 60


@pytest.mark.parametrize("method", sorted(WORKED_EXAMPLE))
def test_the_worked_example_never_touches_the_inbound_lot(method):
    plan = allocate(method, [O1, O2], widget_lots(), as_of=AS_OF, item_costs=history_costs(method))
    assert L4 not in {p.lot_id for p in plan.picks}


def test_an_o3_of_100_takes_the_70_left_in_l3_and_30_from_l4_when_inbound_is_allowed():
    o3 = order(3, (31, WIDGET, 100))
    plan = allocate("FIFO", [O1, O2, o3], widget_lots(), as_of=AS_OF)
    assert rows(plan, 3) == [(L3, 70, D("11.5"), D("805.00")), (L4, 30, D("12"), D("360.00"))]


def test_without_inbound_the_o3_gets_only_the_70_left_in_stock():
    o3 = order(3, (31, WIDGET, 100))
    plan = allocate("FIFO", [O1, O2, o3], widget_lots(), as_of=AS_OF, allow_inbound=False)
    assert rows(plan, 3) == [(L3, 70, D("11.5"), D("805.00"))]
    outcome = plan.outcomes[2]
    assert outcome.status == OutcomeStatus.PARTIAL
    assert [(s.line_id, s.requested, s.allocated, s.short) for s in outcome.shortfalls] == [(31, 100, 70, 30)]


def test_an_average_line_spanning_into_inbound_carries_one_unit_cost_for_every_pick():
    o3 = order(3, (31, WIDGET, 100))
    plan = allocate("AVERAGE", [O1, O2, o3], widget_lots(), as_of=AS_OF)
    # L3 70 @11.5 is the only in-stock quantity left: the average is 11.5 for both picks
    assert rows(plan, 3) == [(L3, 70, D("11.5000"), D("805.00")), (L4, 30, D("11.5000"), D("345.00"))]


def test_average_with_nothing_in_stock_costs_each_pick_at_its_lot():
    lots = [LotSnapshot(L4, WIDGET, 200, D("12.0000"), None, eta=date(2026, 2, 10))]
    plan = allocate("AVERAGE", [order(1, (11, WIDGET, 10))], lots, as_of=AS_OF)
    assert rows(plan, 1) == [(L4, 10, D("12.0000"), D("120.00"))]


@pytest.mark.parametrize("method", ["MOVING_AVERAGE", "TOTAL_AVERAGE"])
def test_a_history_average_that_cannot_be_formed_costs_each_pick_at_its_lot(method):
    plan = allocate(method, [O1], widget_lots(), as_of=AS_OF, item_costs={WIDGET: None})
    assert rows(plan, 1) == [(L1, 100, D("10.0000"), D("1000.00")), (L2, 20, D("13.0000"), D("260.00"))]


def test_total_average_picks_are_provisional_and_the_others_final():
    for method in REGISTRY:
        plan = allocate(method, [order(1, (11, WIDGET, 5, L1))], widget_lots(), as_of=AS_OF, item_costs={WIDGET: D("11.2")})
        assert [p.cost_final for p in plan.picks] == [method != "TOTAL_AVERAGE"], method


def test_last_purchase_costs_every_pick_at_the_given_last_purchase_cost():
    plan = allocate("LAST_PURCHASE", [O1], widget_lots(), as_of=AS_OF, item_costs={WIDGET: D("11.5000")})
    assert rows(plan, 1) == [(L1, 100, D("11.5000"), D("1150.00")), (L2, 20, D("11.5000"), D("230.00"))]


# --- SPECIFIC -----------------------------------------------------------------

def test_specific_takes_only_the_lot_named_on_the_line_at_its_cost():
    plan = allocate("SPECIFIC", [order(1, (11, WIDGET, 60, L3))], widget_lots(), as_of=AS_OF)
    assert rows(plan, 1) == [(L3, 60, D("11.5000"), D("690.00"))]


def test_specific_never_spills_over_into_another_lot():
    plan = allocate("SPECIFIC", [order(1, (11, WIDGET, 80, L2))], widget_lots(), as_of=AS_OF)
    assert rows(plan, 1) == [(L2, 50, D("13.0000"), D("650.00"))]
    assert plan.outcomes[0].shortfalls[0].short == 30
    assert plan.outcomes[0].shortfalls[0].reason == "not enough stock in lot L2"


def test_specific_without_a_named_lot_is_skipped_with_the_reason_no_lot_named():
    plan = allocate("SPECIFIC", [order(1, (11, WIDGET, 10))], widget_lots(), as_of=AS_OF)
    assert plan.picks == []
    assert plan.outcomes[0].status == OutcomeStatus.NOT_ALLOCATED
    assert plan.outcomes[0].reason == "no lot named"
    assert plan.outcomes[0].shortfalls[0].reason == "no lot named"


def test_specific_refuses_a_named_lot_that_has_expired():
    lots = widget_lots() + [LotSnapshot(5, WIDGET, 10, D("9"), date(2026, 1, 1), expires_on=date(2026, 1, 24), reference="OLD")]
    plan = allocate("SPECIFIC", [order(1, (11, WIDGET, 5, 5))], lots, as_of=AS_OF)
    assert plan.picks == []
    assert plan.outcomes[0].reason == "lot OLD is expired"


def test_specific_takes_an_inbound_named_lot_only_when_inbound_is_allowed():
    line = order(1, (11, WIDGET, 5, L4))
    assert rows(allocate("SPECIFIC", [line], widget_lots(), as_of=AS_OF), 1) == [(L4, 5, D("12.0000"), D("60.00"))]
    refused = allocate("SPECIFIC", [line], widget_lots(), as_of=AS_OF, allow_inbound=False)
    assert refused.picks == []
    assert refused.outcomes[0].reason == "lot L4 is not received yet"


def test_specific_refuses_a_named_lot_of_another_item():
    lots = widget_lots() + [LotSnapshot(9, GADGET, 10, D("5"), date(2026, 1, 1), reference="G1")]
    plan = allocate("SPECIFIC", [order(1, (11, WIDGET, 5, 9))], lots, as_of=AS_OF)
    assert plan.picks == []
    assert plan.outcomes[0].reason == "lot G1 is of another item"


# --- Orderings ----------------------------------------------------------------

def fefo_lots() -> list[LotSnapshot]:
    return [
        LotSnapshot(1, WIDGET, 10, D("1"), date(2026, 1, 1), expires_on=None, reference="NOEXP-OLD"),
        LotSnapshot(2, WIDGET, 10, D("2"), date(2026, 1, 3), expires_on=date(2026, 6, 1), reference="JUNE"),
        LotSnapshot(3, WIDGET, 10, D("3"), date(2026, 1, 4), expires_on=date(2026, 3, 1), reference="MARCH-NEW"),
        LotSnapshot(4, WIDGET, 10, D("4"), date(2026, 1, 2), expires_on=date(2026, 3, 1), reference="MARCH-OLD"),
        LotSnapshot(5, WIDGET, 10, D("5"), date(2025, 12, 1), expires_on=date(2026, 1, 10), reference="EXPIRED"),
    ]


def test_fefo_takes_the_earliest_expiry_first_then_the_oldest_and_no_expiry_last():
    plan = allocate("FEFO", [order(1, (11, WIDGET, 40))], fefo_lots(), as_of=AS_OF)
    assert [p.lot_id for p in plan.picks] == [4, 3, 2, 1]
    assert [p.unit_cost for p in plan.picks] == [D("4"), D("3"), D("2"), D("1")]


@pytest.mark.parametrize("method", sorted(REGISTRY))
def test_no_method_ever_picks_an_expired_lot(method):
    lots = [LotSnapshot(5, WIDGET, 10, D("5"), date(2025, 12, 1), expires_on=date(2026, 1, 24), reference="EXPIRED"),
            LotSnapshot(6, WIDGET, 10, D("5"), None, eta=date(2026, 1, 30), expires_on=date(2026, 1, 20), reference="X")]
    plan = allocate(method, [order(1, (11, WIDGET, 5, 5)), order(2, (21, WIDGET, 5, 6))], lots, as_of=AS_OF,
                    item_costs={WIDGET: D("5")})
    assert plan.picks == []


def test_a_lot_expiring_on_the_allocation_date_is_still_usable():
    lots = [LotSnapshot(5, WIDGET, 10, D("5"), date(2025, 12, 1), expires_on=AS_OF)]
    assert [p.quantity for p in allocate("FIFO", [order(1, (11, WIDGET, 5))], lots, as_of=AS_OF).picks] == [5]


def test_inbound_lots_come_after_stock_by_eta_with_empty_eta_last_and_ties_on_lot_id():
    lots = [
        LotSnapshot(10, WIDGET, 1, D("1"), None, eta=None),
        LotSnapshot(11, WIDGET, 1, D("1"), None, eta=date(2026, 3, 1)),
        LotSnapshot(12, WIDGET, 1, D("1"), date(2026, 2, 1), eta=date(2026, 2, 1)),  # received after D: inbound
        LotSnapshot(13, WIDGET, 1, D("1"), None, eta=date(2026, 2, 1)),
        LotSnapshot(7, WIDGET, 1, D("1"), None, eta=None),
        LotSnapshot(20, WIDGET, 1, D("1"), date(2026, 1, 2)),
    ]
    for method in ("FIFO", "LIFO", "AVERAGE", "FEFO"):
        plan = allocate(method, [order(1, (11, WIDGET, 6))], lots, as_of=AS_OF)
        assert [p.lot_id for p in plan.picks] == [20, 12, 13, 11, 7, 10], method


def test_lots_received_on_the_same_day_break_ties_on_lot_id_for_fifo_and_lifo():
    lots = [LotSnapshot(i, WIDGET, 1, D("1"), date(2026, 1, 5)) for i in (9, 3, 6)]
    assert [p.lot_id for p in allocate("FIFO", [order(1, (11, WIDGET, 3))], lots, as_of=AS_OF).picks] == [3, 6, 9]
    assert [p.lot_id for p in allocate("LIFO", [order(1, (11, WIDGET, 3))], lots, as_of=AS_OF).picks] == [3, 6, 9]


def test_lots_of_another_item_are_never_picked():
    lots = [LotSnapshot(1, GADGET, 100, D("1"), date(2026, 1, 1)), LotSnapshot(2, WIDGET, 3, D("2"), date(2026, 1, 1))]
    plan = allocate("FIFO", [order(1, (11, WIDGET, 10))], lots, as_of=AS_OF)
    assert [(p.lot_id, p.quantity) for p in plan.picks] == [(2, 3)]


# --- Partial, re-runs ---------------------------------------------------------

def test_without_partial_an_order_that_cannot_be_filled_is_skipped_with_its_shortfall_per_line():
    lots = [LotSnapshot(1, WIDGET, 50, D("10"), date(2026, 1, 1)), LotSnapshot(2, GADGET, 5, D("3"), date(2026, 1, 1))]
    big = order(1, (11, WIDGET, 20), (12, GADGET, 8))
    small = order(2, (21, WIDGET, 30), (22, GADGET, 5))
    plan = allocate("FIFO", [big, small], lots, as_of=AS_OF, allow_partial=False)
    skipped = plan.outcomes[0]
    assert skipped.status == OutcomeStatus.SKIPPED
    # nothing was allocated, and the shortfall says how much stock was missing (5 of 8 were there)
    assert [(s.line_id, s.requested, s.allocated, s.available, s.short) for s in skipped.shortfalls] == [(12, 8, 0, 5, 3)]
    # the stock the skipped order would have used is still there for the next one
    assert rows(plan, 2) == [(1, 30, D("10"), D("300.00")), (2, 5, D("3"), D("15.00"))]
    assert plan.outcomes[1].status == OutcomeStatus.ALLOCATED


def test_with_partial_the_same_order_keeps_what_it_could_get():
    lots = [LotSnapshot(1, WIDGET, 50, D("10"), date(2026, 1, 1)), LotSnapshot(2, GADGET, 5, D("3"), date(2026, 1, 1))]
    plan = allocate("FIFO", [order(1, (11, WIDGET, 20), (12, GADGET, 8))], lots, as_of=AS_OF)
    assert plan.outcomes[0].status == OutcomeStatus.PARTIAL
    assert rows(plan, 1) == [(1, 20, D("10"), D("200.00")), (2, 5, D("3"), D("15.00"))]


def test_an_order_with_nothing_available_is_not_allocated():
    plan = allocate("FIFO", [order(1, (11, GADGET, 3))], widget_lots(), as_of=AS_OF)
    assert plan.outcomes[0].status == OutcomeStatus.NOT_ALLOCATED
    assert plan.outcomes[0].shortfalls[0].short == 3


def test_re_running_on_what_is_left_allocates_nothing_new():
    # given: the first run's picks applied to the lots and lines
    first = allocate("FIFO", [O1, O2], widget_lots(), as_of=AS_OF)
    taken = {}
    for pick in first.picks:
        taken[pick.lot_id] = taken.get(pick.lot_id, 0) + pick.quantity
    lots = [LotSnapshot(lot.id, lot.item_id, lot.available - taken.get(lot.id, 0), lot.unit_cost, lot.received_on, lot.eta)
            for lot in widget_lots()]
    done = [OrderDemand(o.order_id, tuple(LineDemand(line.line_id, o.order_id, line.item_id, 0, None, line.quantity)
                                           for line in o.lines)) for o in (O1, O2)]
    # when
    second = allocate("FIFO", done, lots, as_of=AS_OF)
    # then
    assert second.picks == []
    assert [(o.status, o.reason) for o in second.outcomes] == [(OutcomeStatus.ALLOCATED, "already allocated")] * 2


def test_lines_are_served_in_line_order_inside_an_order_and_orders_in_the_order_given():
    lots = [LotSnapshot(1, WIDGET, 10, D("1"), date(2026, 1, 1))]
    plan = allocate("FIFO", [order(2, (21, WIDGET, 4), (22, WIDGET, 4)), order(1, (11, WIDGET, 4))], lots, as_of=AS_OF)
    assert [(p.line_id, p.quantity) for p in plan.picks] == [(21, 4), (22, 4), (11, 2)]


# --- Registry and rounding ----------------------------------------------------

def test_the_registry_and_the_method_choices_agree():
    assert set(REGISTRY) == set(Method.values)
    for name in Method.values:
        assert get_method(name).name == name


def test_an_unknown_method_fails_clearly_as_invalid_input_on_the_method_field():
    with pytest.raises(UnknownMethod) as raised:
        get_method("HIFO")
    assert isinstance(raised.value, InvalidInput)
    assert raised.value.field == "method"
    assert "HIFO" in raised.value.message
    with pytest.raises(UnknownMethod):
        allocate("fifo", [O1], widget_lots(), as_of=AS_OF)


def test_amounts_and_costs_round_half_up():
    assert round_money(D("0.125")) == D("0.13")
    assert round_money(D("2.675")) == D("2.68")
    assert amount_of(3, D("0.0050")) == D("0.02")  # 0.015 → 0.02, not banker's 0.02/0.01
    assert amount_of(1, D("0.0050")) == D("0.01")  # 0.005 → 0.01
    assert amount_of(30, D("11.8462")) == D("355.39")
    assert round_cost(D("1.00005")) == D("1.0001")
    from fractions import Fraction
    assert fraction_to_cost(Fraction(1540, 130)) == D("11.8462")
    assert fraction_to_cost(Fraction(1, 20000)) == D("0.0001")  # exactly half: up
    assert fraction_to_cost(Fraction(1, 20001)) == D("0.0000")


def test_an_average_is_rounded_once_to_four_places_not_per_step():
    # 1 @ 0.00004 + 1 @ 0.00007 averages 0.000055 exactly → 0.0001; rounding each cost first would give 0.0000 or 0.00005
    lots = [LotSnapshot(1, WIDGET, 1, D("0.00004"), date(2026, 1, 1)), LotSnapshot(2, WIDGET, 1, D("0.00007"), date(2026, 1, 2))]
    plan = allocate("AVERAGE", [order(1, (11, WIDGET, 2))], lots, as_of=AS_OF)
    assert {p.unit_cost for p in plan.picks} == {D("0.0001")}
    # and a line's amount is round(q × cost, 2) on the rounded cost: 3 × 11.8462 = 35.5386 → 35.54
    lots = [LotSnapshot(2, WIDGET, 30, D("13"), date(2026, 1, 10)), LotSnapshot(3, WIDGET, 100, D("11.5"), date(2026, 1, 20))]
    plan = allocate("AVERAGE", [order(1, (11, WIDGET, 3))], lots, as_of=AS_OF)
    assert rows(plan, 1) == [(2, 3, D("11.8462"), D("35.54"))]
