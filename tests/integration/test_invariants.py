"""The invariants of ALLOCATION.md through the services, on random runs, releases, cancels and lot edits."""
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocation.domain import Conflict, InsufficientStock, InvalidInput, LotOverAllocated
from allocation.models import AllocationResult, AllocationRun, Method, Policy
from allocation.policies import get_policy
from allocation.services import allocation_release, allocation_run, order_cancel
from orders.models import Order, OrderLine, OrderStatus
from stock.models import Lot
from stock.services import lot_update
from tests.factories import CustomerFactory, ItemFactory, LotFactory, OrderFactory, OrderLineFactory

START = date(2026, 1, 1)
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def day(offset: int | None) -> date | None:
    return None if offset is None else START + timedelta(days=offset)


lot_specs = st.lists(st.fixed_dictionaries({
    "item": st.integers(0, 1),
    "quantity": st.integers(1, 30),
    "cost": st.integers(0, 2000),
    "received": st.one_of(st.none(), st.integers(0, 60)),
    "eta": st.one_of(st.none(), st.integers(0, 90)),
    "expires": st.one_of(st.none(), st.integers(10, 90)),
}), min_size=1, max_size=6)

order_specs = st.lists(st.fixed_dictionaries({
    "date": st.integers(0, 40),
    "priority": st.integers(0, 3),
    "customer": st.integers(0, 3),  # 3: no customer
    "lines": st.lists(st.tuples(st.integers(0, 1), st.integers(1, 20), st.one_of(st.none(), st.integers(0, 5))),
                      min_size=1, max_size=2),
}), min_size=1, max_size=5)

actions = st.lists(st.one_of(
    st.tuples(st.just("run"), st.integers(0, 80), st.sampled_from(Policy.values), st.booleans(), st.booleans(),
              st.booleans(), st.one_of(st.none(), st.lists(st.integers(0, 4), min_size=1, max_size=3))),
    st.tuples(st.just("release"), st.sampled_from(["order", "lot", "result"]), st.integers(0, 5)),
    st.tuples(st.just("edit"), st.integers(0, 5), st.integers(1, 40)),
    st.tuples(st.just("receive"), st.integers(0, 5), st.integers(0, 80)),
    st.tuples(st.just("cancel"), st.integers(0, 4)),
), min_size=1, max_size=6)


def build(lots_spec: list[dict], orders_spec: list[dict]) -> tuple[list[Lot], list[Order]]:
    items = [ItemFactory(item_code=code) for code in ("WIDGET", "GADGET")]
    customers = [CustomerFactory(code=code) for code in ("ACME", "BETA", "GAMMA")]
    lots = [
        LotFactory(item=items[s["item"]], quantity=s["quantity"], unit_cost=Decimal(s["cost"]).scaleb(-2),
                   received_on=day(s["received"]), eta=day(s["eta"]), expires_on=day(s["expires"]))
        for s in lots_spec
    ]
    orders = []
    for s in orders_spec:
        customer = customers[s["customer"]] if s["customer"] < len(customers) else None
        order = OrderFactory(order_date=day(s["date"]), priority=s["priority"], customer=customer)
        for item, quantity, lot in s["lines"]:
            named = lots[lot] if lot is not None and lot < len(lots) else None
            OrderLineFactory(order=order, item=items[item], quantity=quantity, lot=named)
        orders.append(order)
    return lots, orders


def state() -> tuple:
    return (
        AllocationRun.objects.count(),
        sorted(AllocationResult.objects.values_list("id", "allocated_quantity", "unit_cost", "released_at")),
        sorted(Lot.objects.values_list("id", "quantity", "allocated_quantity", "received_on")),
        sorted(Order.objects.values_list("id", "status")),
    )


def check_results(method: str) -> None:
    """No expired, other-item or (for SPECIFIC) unnamed lot in any result; amounts to the cent."""
    for r in AllocationResult.objects.select_related("lot", "order_line"):
        assert r.lot.item_id == r.item_id == r.order_line.item_id
        assert r.lot.expires_on is None or r.lot.expires_on >= r.allocation_date
        assert r.allocated_price == (r.allocated_quantity * r.unit_cost).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if r.method == Method.SPECIFIC:
            assert r.lot_id == r.order_line.lot_id


def act(action: tuple, method: str, lots: list[Lot], orders: list[Order]) -> None:
    kind = action[0]
    if kind == "run":
        _, offset, policy, partial, inbound, dry, subset = action
        chosen = None if subset is None else sorted({orders[i % len(orders)].pk for i in subset})
        before = state()
        try:
            report = allocation_run(method=method, orders=chosen, as_of=day(offset), policy=policy,
                                    allow_partial=partial, allow_inbound=inbound, dry_run=dry)
        except (InsufficientStock, Conflict):
            assert chosen is not None and len(chosen) == 1
            assert state() == before  # refused: nothing written
            return
        except InvalidInput:  # fair_share needs partial allocation and a method that picks its lots
            assert get_policy(policy).rations and (not partial or method == Method.SPECIFIC)
            assert state() == before
            return
        if dry:
            assert state() == before
            # the dry run's answer is exactly what the real run then does
            dry_report = report
            report = allocation_run(method=method, orders=chosen, as_of=day(offset), policy=policy,
                                    allow_partial=partial, allow_inbound=inbound)
            assert (report.picks, report.outcomes) == (dry_report.picks, dry_report.outcomes)
        assert report.run.results.count() == len(report.picks)
        # re-running the same allocation allocates nothing new
        again = allocation_run(method=method, orders=chosen, as_of=day(offset), policy=policy,
                               allow_partial=partial, allow_inbound=inbound)
        assert again.picks == []
    elif kind == "release":
        _, what, index = action
        if what == "order":
            allocation_release(order=orders[index % len(orders)])
        elif what == "lot":
            allocation_release(lot=lots[index % len(lots)])
        else:
            active = list(AllocationResult.objects.active().order_by("id").values_list("id", flat=True))
            if active:
                allocation_release(results=[active[index % len(active)]])
    elif kind == "edit":
        _, index, quantity = action
        lot = Lot.objects.get(pk=lots[index % len(lots)].pk)
        if quantity < lot.allocated_quantity:
            with pytest.raises(LotOverAllocated):
                lot_update(lot=lot, quantity=quantity)
            assert Lot.objects.get(pk=lot.pk).quantity == lot.quantity
        else:
            lot_update(lot=lot, quantity=quantity)
    elif kind == "receive":
        _, index, offset = action
        lot = lots[index % len(lots)]
        lot_update(lot=lot, received_on=day(offset))
    else:
        order = Order.objects.get(pk=orders[action[1] % len(orders)].pk)
        if order.status == OrderStatus.CANCELLED:
            with pytest.raises(Conflict):
                order_cancel(order=order)
        else:
            order_cancel(order=order)
            assert not AllocationResult.objects.active().filter(order=order).exists()


@pytest.mark.parametrize("method", Method.values)
def test_runs_releases_cancels_and_lot_edits_keep_every_invariant(db, books_balance, method):
    @SETTINGS
    @given(lots_spec=lot_specs, orders_spec=order_specs, steps=actions)
    def scenario(lots_spec, orders_spec, steps):
        with transaction.atomic():
            lots, orders = build(lots_spec, orders_spec)
            for step in steps:
                act(step, method, lots, orders)
                # available + active allocated = quantity; stored counters and statuses match the results
                books_balance()
                check_results(method)
            assert OrderLine.objects.count() == sum(len(o["lines"]) for o in orders_spec)
            transaction.set_rollback(True)

    scenario()
