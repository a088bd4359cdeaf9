"""Policy fair_share (按分引当) on the pure core: the worked example of ALLOCATION.md, remainders, ties, many
items, inbound on and off, two lines of one order on one item, and its properties on random data."""
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.allocator import allocate
from allocation.domain import LineDemand, LotSnapshot, OrderDemand, OutcomeStatus, Share
from allocation.methods import REGISTRY
from allocation.policies import fair_quotas, get_policy

D = Decimal
AS_OF = date(2026, 1, 25)
WIDGET, GADGET = 1, 2


def lot(lot_id: int, item: int, quantity: int, cost: str = "10", received: date | None = date(2026, 1, 5),
        eta: date | None = None) -> LotSnapshot:
    return LotSnapshot(lot_id, item, quantity, D(cost), received, eta=eta, reference=f"L{lot_id}")


def order(order_id: int, *lines: tuple[int, int, int]) -> OrderDemand:
    """An order whose lines are (line id, item, quantity)."""
    return OrderDemand(order_id, tuple(LineDemand(line_id, order_id, item, quantity) for line_id, item, quantity in lines))


def served(plan) -> dict[int, int]:
    """Return the quantity picked per line."""
    got: dict[int, int] = {}
    for pick in plan.picks:
        got[pick.line_id] = got.get(pick.line_id, 0) + pick.quantity
    return got


def run(orders, lots, method="FIFO", **options):
    return allocate(method, orders, lots, as_of=AS_OF, rations=True, **options)


def test_the_worked_example_shares_100_as_60_30_10():
    # given: ALLOCATION.md, lots of WIDGET give 100; O1 asks 120, O2 60, O3 20 (N = 200)
    lots = [lot(1, WIDGET, 60), lot(2, WIDGET, 40, "12", date(2026, 1, 10))]
    orders = [order(1, (11, WIDGET, 120)), order(2, (21, WIDGET, 60)), order(3, (31, WIDGET, 20))]
    # when
    plan = run(orders, lots)
    # then: quotas 60, 30, 10, served oldest order first from the lots in FIFO order
    assert served(plan) == {11: 60, 21: 30, 31: 10}
    assert [(p.line_id, p.lot_id, p.quantity, p.amount) for p in plan.picks] == [
        (11, 1, 60, D("600.00")), (21, 2, 30, D("360.00")), (31, 2, 10, D("120.00"))]
    first = plan.outcomes[0]
    assert first.status == OutcomeStatus.PARTIAL
    assert first.shortfalls[0].share == Share(60, 120, 100, 200)
    assert first.shortfalls[0].reason == "fair share: 60 of 120 asked (100 for 200)"
    assert first.shortfalls[0].short == 60


def test_the_units_left_over_go_to_the_largest_remainders():
    # S = 10, needs 7, 5, 3 (N = 15): exact shares 4.67, 3.33, 2 -> floors 4, 3, 2 and one unit left
    assert {k: s.quota for k, s in fair_quotas([(1, WIDGET, 7), (2, WIDGET, 5), (3, WIDGET, 3)], {WIDGET: 10}).items()} \
        == {1: 5, 2: 3, 3: 2}


def test_equal_remainders_go_in_serving_order():
    # S = 2 for three lines of 1: the first two in serving order get one each
    quotas = fair_quotas([(30, WIDGET, 1), (10, WIDGET, 1), (20, WIDGET, 1)], {WIDGET: 2})
    assert {k: s.quota for k, s in quotas.items()} == {30: 1, 10: 1, 20: 0}


def test_an_item_with_enough_stock_is_not_rationed_and_others_are_shared_each_on_its_own():
    lots = [lot(1, WIDGET, 500), lot(2, GADGET, 9)]
    orders = [order(1, (11, WIDGET, 100), (12, GADGET, 6)), order(2, (21, WIDGET, 200), (22, GADGET, 12))]
    plan = run(orders, lots)
    assert served(plan) == {11: 100, 21: 200, 12: 3, 22: 6}
    assert [o.status for o in plan.outcomes] == [OutcomeStatus.PARTIAL, OutcomeStatus.PARTIAL]


def test_two_lines_of_one_order_on_the_same_item_each_get_their_own_share():
    plan = run([order(1, (11, WIDGET, 40), (12, WIDGET, 40)), order(2, (21, WIDGET, 20))], [lot(1, WIDGET, 50)])
    assert served(plan) == {11: 20, 12: 20, 21: 10}


@pytest.mark.parametrize(("allow_inbound", "expected"), [(True, {11: 60, 21: 30}), (False, {11: 20, 21: 10})])
def test_inbound_lots_count_in_the_supply_only_when_allowed(allow_inbound, expected):
    lots = [lot(1, WIDGET, 30), lot(2, WIDGET, 60, received=None, eta=date(2026, 2, 10))]
    plan = run([order(1, (11, WIDGET, 100)), order(2, (21, WIDGET, 50))], lots, allow_inbound=allow_inbound)
    assert served(plan) == expected


def test_a_line_with_a_quota_of_zero_is_not_allocated_and_says_why():
    plan = run([order(1, (11, WIDGET, 1)), order(2, (21, WIDGET, 1)), order(3, (31, WIDGET, 1))], [lot(1, WIDGET, 2)])
    last = plan.outcomes[2]
    assert last.status == OutcomeStatus.NOT_ALLOCATED
    assert last.shortfalls[0].reason == "fair share: 0 of 1 asked (2 for 3)"


def test_averages_cost_each_quota_as_the_method_says():
    lots = [lot(1, WIDGET, 50, "10"), lot(2, WIDGET, 50, "13", date(2026, 1, 10))]
    plan = run([order(1, (11, WIDGET, 100)), order(2, (21, WIDGET, 100))], lots, method="AVERAGE")
    # each line takes 50: the first at the average of both lots (11.5), the second at the rest's (13)
    assert [(p.line_id, p.unit_cost) for p in plan.picks] == [(11, D("11.5000")), (21, D("13.0000"))]


def test_the_policy_is_registered_and_rations():
    assert get_policy("fair_share").rations and not get_policy("order_date").rations


@st.composite
def scarce(draw):
    needs = draw(st.lists(st.integers(1, 500), min_size=1, max_size=30))
    supply = draw(st.integers(0, sum(needs)))
    return needs, supply


@settings(max_examples=300, deadline=None)
@given(scarce())
def test_quotas_sum_to_the_supply_never_pass_a_need_and_stay_within_one_unit_of_pro_rata(case):
    needs, supply = case
    shares = fair_quotas([(n, WIDGET, need) for n, need in enumerate(needs)], {WIDGET: supply})
    total = sum(needs)
    if total <= supply:
        assert shares == {}
        return
    assert sum(s.quota for s in shares.values()) == supply
    for n, need in enumerate(needs):
        quota = shares[n].quota
        assert 0 <= quota <= need
        assert abs(quota - Fraction(supply * need, total)) < 1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2), st.integers(1, 80)), min_size=1, max_size=12),
       st.lists(st.tuples(st.integers(1, 2), st.integers(0, 60), st.integers(-10, 10)), max_size=6),
       st.sampled_from(sorted(set(REGISTRY) - {"SPECIFIC"})))
def test_every_method_serves_exactly_the_quotas(lines, lot_specs, method):
    lots = [lot(n, item, quantity, "10", AS_OF + timedelta(days=offset) if offset <= 0 else None,
                eta=AS_OF + timedelta(days=offset) if offset > 0 else None)
            for n, (item, quantity, offset) in enumerate(lot_specs, start=1)]
    orders = [order(n, (n, item, quantity)) for n, (item, quantity) in enumerate(lines, start=1)]
    supply = {item: sum(lt.available for lt in lots if lt.item_id == item) for item in (1, 2)}
    shares = fair_quotas([(n, item, quantity) for n, (item, quantity) in enumerate(lines, start=1)], supply)
    plan = run(orders, lots, method=method, item_costs={1: D("10"), 2: D("10")})
    got = served(plan)
    for n, (_, quantity) in enumerate(lines, start=1):
        assert got.get(n, 0) == (shares[n].quota if n in shares else quantity)
