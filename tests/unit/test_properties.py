"""The invariants of ALLOCATION.md on random lots and orders, for every method (pure layer, no database)."""
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.allocator import allocate
from allocation.domain import LineDemand, LotSnapshot, OrderDemand, OutcomeStatus, amount_of
from allocation.methods import REGISTRY

AS_OF = date(2026, 3, 15)
ITEMS = (1, 2, 3)
AVERAGING = {"AVERAGE", "MOVING_AVERAGE", "TOTAL_AVERAGE", "LAST_PURCHASE"}


def _day(offset: int | None) -> date | None:
    return None if offset is None else AS_OF + timedelta(days=offset)


@st.composite
def lots(draw) -> list[LotSnapshot]:
    result = []
    for lot_id in range(1, draw(st.integers(0, 12)) + 1):
        result.append(LotSnapshot(
            lot_id,
            draw(st.sampled_from(ITEMS)),
            draw(st.integers(0, 60)),
            Decimal(draw(st.integers(0, 300_000))).scaleb(-4),
            received_on=_day(draw(st.one_of(st.none(), st.integers(-60, 20)))),
            eta=_day(draw(st.one_of(st.none(), st.integers(-5, 40)))),
            expires_on=_day(draw(st.one_of(st.none(), st.integers(-20, 60)))),
            reference=f"L{lot_id}",
        ))
    return result


@st.composite
def orders(draw, lot_count: int) -> list[OrderDemand]:
    result = []
    line_id = 0
    for order_id in range(1, draw(st.integers(0, 8)) + 1):
        lines = []
        for _ in range(draw(st.integers(1, 3))):
            line_id += 1
            named = draw(st.one_of(st.none(), st.integers(1, lot_count))) if lot_count else None
            lines.append(LineDemand(line_id, order_id, draw(st.sampled_from(ITEMS)), draw(st.integers(1, 50)), named))
        result.append(OrderDemand(order_id, tuple(lines)))
    return draw(st.permutations(result))


@st.composite
def scenarios(draw):
    lot_list = draw(lots())
    return {
        "method": draw(st.sampled_from(sorted(REGISTRY))),
        "lots": lot_list,
        "orders": draw(orders(len(lot_list))),
        "allow_partial": draw(st.booleans()),
        "allow_inbound": draw(st.booleans()),
        "item_costs": {item: draw(st.one_of(st.none(), st.decimals("0", "30", places=4))) for item in ITEMS},
    }


def run(s: dict):
    return allocate(s["method"], s["orders"], s["lots"], as_of=AS_OF, allow_partial=s["allow_partial"],
                    allow_inbound=s["allow_inbound"], item_costs=s["item_costs"])


def _eligible(lot: LotSnapshot, item_id: int, allow_inbound: bool) -> bool:
    return (lot.item_id == item_id and not lot.is_expired(AS_OF)
            and (lot.is_in_stock(AS_OF) or allow_inbound))


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_no_lot_is_over_allocated_and_no_expired_or_other_item_lot_is_picked(s):
    plan = run(s)
    by_id = {lot.id: lot for lot in s["lots"]}
    lines = {line.line_id: line for o in s["orders"] for line in o.lines}
    taken = defaultdict(int)
    for pick in plan.picks:
        lot, line = by_id[pick.lot_id], lines[pick.line_id]
        taken[lot.id] += pick.quantity
        assert pick.quantity > 0
        assert lot.item_id == line.item_id == pick.item_id
        assert not lot.is_expired(AS_OF)
        assert lot.is_in_stock(AS_OF) or s["allow_inbound"]
        if s["method"] == "SPECIFIC":
            assert pick.lot_id == line.lot_id
    for lot_id, quantity in taken.items():
        assert quantity <= by_id[lot_id].available


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_no_line_gets_more_than_it_asked_and_outcomes_add_up(s):
    plan = run(s)
    got = defaultdict(int)
    for pick in plan.picks:
        got[pick.line_id] += pick.quantity
        assert pick.amount == amount_of(pick.quantity, pick.unit_cost)
        assert pick.cost_final == (s["method"] != "TOTAL_AVERAGE")
    for o, outcome in zip(s["orders"], plan.outcomes, strict=True):
        assert outcome.order_id == o.order_id
        served = sum(got[line.line_id] for line in o.lines)
        assert outcome.quantity == served
        assert outcome.amount == sum((p.amount for p in plan.picks if p.order_id == o.order_id), Decimal("0.00"))
        for line in o.lines:
            assert got[line.line_id] <= line.quantity
        short = {sf.line_id: sf for sf in outcome.shortfalls}
        assert set(short) == {line.line_id for line in o.lines if got[line.line_id] < line.quantity} or (
            outcome.status == OutcomeStatus.SKIPPED)
        if not s["allow_partial"]:
            # all or nothing per order
            assert served in (0, sum(line.quantity for line in o.lines))
            assert (outcome.status == OutcomeStatus.SKIPPED) == bool(outcome.shortfalls)
        if outcome.status == OutcomeStatus.ALLOCATED:
            assert served == sum(line.quantity for line in o.lines)


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_every_pick_of_a_line_under_an_average_method_carries_one_cost_and_lot_methods_the_lots_cost(s):
    plan = run(s)
    by_id = {lot.id: lot for lot in s["lots"]}
    picks_of_line = defaultdict(list)
    for pick in plan.picks:
        picks_of_line[pick.line_id].append(pick)
        if s["method"] not in AVERAGING:
            assert pick.unit_cost == by_id[pick.lot_id].unit_cost
        elif s["method"] != "AVERAGE" and s["item_costs"][pick.item_id] is not None:
            assert pick.unit_cost == s["item_costs"][pick.item_id]
    if s["method"] not in AVERAGING:
        return
    for picks in picks_of_line.values():
        if len({p.unit_cost for p in picks}) > 1:
            # only when no average could be formed: then each pick is at its lot's own cost
            assert all(p.unit_cost == by_id[p.lot_id].unit_cost for p in picks)
            if s["method"] == "AVERAGE":
                assert not any(by_id[p.lot_id].is_in_stock(AS_OF) for p in picks)
            else:
                assert s["item_costs"][picks[0].item_id] is None


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_a_line_left_short_means_every_lot_it_could_use_is_empty(s):
    if s["method"] == "SPECIFIC" or not s["allow_partial"]:
        return
    plan = run(s)
    left = {lot.id: lot.available for lot in s["lots"]}
    for pick in plan.picks:
        left[pick.lot_id] -= pick.quantity
    for outcome in plan.outcomes:
        for shortfall in outcome.shortfalls:
            usable = [lot for lot in s["lots"] if _eligible(lot, shortfall.item_id, s["allow_inbound"])]
            assert all(left[lot.id] <= 0 for lot in usable)


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_re_running_on_what_is_left_allocates_nothing_new(s):
    # given: the first run applied to lots and lines
    first = run(s)
    taken, got = defaultdict(int), defaultdict(int)
    for pick in first.picks:
        taken[pick.lot_id] += pick.quantity
        got[pick.line_id] += pick.quantity
    s2 = dict(s)
    s2["lots"] = [LotSnapshot(lot.id, lot.item_id, lot.available - taken[lot.id], lot.unit_cost, lot.received_on,
                              lot.eta, lot.expires_on, lot.reference) for lot in s["lots"]]
    s2["orders"] = [
        OrderDemand(o.order_id, tuple(LineDemand(line.line_id, o.order_id, line.item_id, line.quantity - got[line.line_id],
                                                 line.lot_id, line.quantity) for line in o.lines))
        for o in s["orders"]
    ]
    # when
    second = run(s2)
    # then: whatever could be had was had the first time (stock only shrank since)
    assert second.picks == []
    for outcome in second.outcomes:
        assert outcome.quantity == 0


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_an_average_pick_costs_the_exact_weighted_average_of_the_usable_stock_just_before_its_line(s):
    from fractions import Fraction

    from allocation.domain import fraction_to_cost

    s = {**s, "method": "AVERAGE", "allow_partial": True}
    plan = run(s)
    left = {lot.id: lot.available for lot in s["lots"]}
    in_stock = [lot for lot in s["lots"] if lot.is_in_stock(AS_OF) and not lot.is_expired(AS_OF)]
    picks = defaultdict(list)
    for pick in plan.picks:
        picks[pick.line_id].append(pick)
    for o in s["orders"]:
        for line in o.lines:
            stock = [lot for lot in in_stock if lot.item_id == line.item_id and left[lot.id] > 0]
            quantity = sum(left[lot.id] for lot in stock)
            value = sum(Fraction(lot.unit_cost) * left[lot.id] for lot in stock)
            expected = fraction_to_cost(value / quantity) if quantity else None
            for pick in picks[line.line_id]:
                assert pick.unit_cost == (expected if expected is not None else pick.unit_cost)
                left[pick.lot_id] -= pick.quantity
