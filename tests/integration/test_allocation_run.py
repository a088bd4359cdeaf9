"""`allocation_run` on the database: the worked example for every method, the parameters, all or nothing."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from allocation import writes
from allocation.domain import Conflict, InsufficientStock, InvalidInput, NotFound
from allocation.models import AllocationResult, AllocationRun, Method, RunStatus
from allocation.parameters import RunRequest
from allocation.requests import allocation_run_queue, allocation_run_queued
from allocation.services import allocation_release, allocation_run
from orders.models import Order, OrderStatus
from stock.models import Lot
from tests.factories import ItemFactory, LotFactory, order_with_lines

pytestmark = pytest.mark.django_db
D = Decimal
AS_OF = date(2026, 1, 25)


def result_rows(run: AllocationRun) -> list[tuple]:
    return [
        (r.order.order_number, r.lot.reference, r.allocated_quantity, r.unit_cost, r.allocated_price)
        for r in run.results.select_related("order", "lot").order_by("id")
    ]


def allocated_by_lot() -> dict[str, int]:
    return dict(Lot.objects.values_list("reference", "allocated_quantity"))


WORKED_EXAMPLE = {
    Method.FIFO: [
        ("O1", "L1", 100, D("10.0000"), D("1000.00")), ("O1", "L2", 20, D("13.0000"), D("260.00")),
        ("O2", "L2", 30, D("13.0000"), D("390.00")), ("O2", "L3", 30, D("11.5000"), D("345.00")),
    ],
    Method.LIFO: [
        ("O1", "L3", 100, D("11.5000"), D("1150.00")), ("O1", "L2", 20, D("13.0000"), D("260.00")),
        ("O2", "L2", 30, D("13.0000"), D("390.00")), ("O2", "L1", 30, D("10.0000"), D("300.00")),
    ],
    Method.AVERAGE: [
        ("O1", "L1", 100, D("11.2000"), D("1120.00")), ("O1", "L2", 20, D("11.2000"), D("224.00")),
        ("O2", "L2", 30, D("11.8462"), D("355.39")), ("O2", "L3", 30, D("11.8462"), D("355.39")),
    ],
    Method.MOVING_AVERAGE: [
        ("O1", "L1", 100, D("11.2000"), D("1120.00")), ("O1", "L2", 20, D("11.2000"), D("224.00")),
        ("O2", "L2", 30, D("11.2000"), D("336.00")), ("O2", "L3", 30, D("11.2000"), D("336.00")),
    ],
    Method.TOTAL_AVERAGE: [
        ("O1", "L1", 100, D("11.2000"), D("1120.00")), ("O1", "L2", 20, D("11.2000"), D("224.00")),
        ("O2", "L2", 30, D("11.2000"), D("336.00")), ("O2", "L3", 30, D("11.2000"), D("336.00")),
    ],
    Method.LAST_PURCHASE: [
        ("O1", "L1", 100, D("11.5000"), D("1150.00")), ("O1", "L2", 20, D("11.5000"), D("230.00")),
        ("O2", "L2", 30, D("11.5000"), D("345.00")), ("O2", "L3", 30, D("11.5000"), D("345.00")),
    ],
    Method.FEFO: [
        ("O1", "L1", 100, D("10.0000"), D("1000.00")), ("O1", "L2", 20, D("13.0000"), D("260.00")),
        ("O2", "L2", 30, D("13.0000"), D("390.00")), ("O2", "L3", 30, D("11.5000"), D("345.00")),
    ],
}


@pytest.mark.parametrize("inline", [True, False], ids=["results-in-statement", "results-by-copy"])
@pytest.mark.parametrize("method", list(WORKED_EXAMPLE))
def test_the_worked_example_through_the_service_writes_the_rows_lots_statuses_and_summary(
    widget_example, method, inline, books_balance, monkeypatch,
):
    # given: PostgreSQL writes a small run's results inside its closing statement, a big one's by COPY
    monkeypatch.setattr(writes, "INLINE_RESULTS", writes.INLINE_RESULTS if inline else 0)
    # when
    report = allocation_run(method=method, as_of=AS_OF)
    # then
    expected = WORKED_EXAMPLE[method]
    run = AllocationRun.objects.get(pk=report.run.pk)
    assert result_rows(run) == expected
    assert all(r.method == method and r.allocation_date == AS_OF and r.released_at is None for r in run.results.all())
    assert [r.cost_final for r in run.results.all()] == [method != Method.TOTAL_AVERAGE] * 4
    taken = {}
    for _, lot, quantity, _, _ in expected:
        taken[lot] = taken.get(lot, 0) + quantity
    assert allocated_by_lot() == {"L1": taken.get("L1", 0), "L2": taken.get("L2", 0), "L3": taken.get("L3", 0), "L4": 0}
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.ALLOCATED}
    total = {Method.FIFO: D("1995.00"), Method.LIFO: D("2100.00"), Method.AVERAGE: D("2054.78"),
             Method.MOVING_AVERAGE: D("2016.00"), Method.TOTAL_AVERAGE: D("2016.00"), Method.LAST_PURCHASE: D("2070.00"),
             Method.FEFO: D("1995.00")}[method]
    assert (run.status, run.orders_considered, run.orders_fully_allocated, run.orders_partly_allocated,
            run.orders_not_allocated, run.allocated_quantity, run.allocated_amount) == (
        RunStatus.DONE, 2, 2, 0, 0, 180, total)
    orders = widget_example["orders"]
    stored = [{"order": o.order_id, "order_number": o.order_number, "status": o.status, "quantity": o.quantity,
               "amount": str(o.amount), "reason": o.reason, "shortfalls": o.shortfalls}
              for o in run.outcome_rows.order_by("id")]
    assert stored == [
        {"order": orders["O1"].pk, "order_number": "O1", "status": "allocated", "quantity": 120,
         "amount": str(expected[0][4] + expected[1][4]), "reason": "", "shortfalls": []},
        {"order": orders["O2"].pk, "order_number": "O2", "status": "allocated", "quantity": 60,
         "amount": str(expected[2][4] + expected[3][4]), "reason": "", "shortfalls": []},
    ]
    assert report.outcomes == stored
    books_balance()


def test_an_o3_of_100_takes_the_70_left_in_l3_and_30_from_inbound_l4(widget_example):
    order_with_lines("O3", date(2026, 1, 24), (widget_example["item"], 100))
    report = allocation_run(method=Method.FIFO, as_of=AS_OF)
    assert result_rows(report.run)[-2:] == [
        ("O3", "L3", 70, D("11.5000"), D("805.00")), ("O3", "L4", 30, D("12.0000"), D("360.00")),
    ]
    assert allocated_by_lot() == {"L1": 100, "L2": 50, "L3": 100, "L4": 30}


def test_without_inbound_o3_is_left_partly_allocated_with_its_shortfall(widget_example):
    o3 = order_with_lines("O3", date(2026, 1, 24), (widget_example["item"], 100))
    report = allocation_run(method=Method.FIFO, as_of=AS_OF, allow_inbound=False)
    outcome = report.outcomes[-1]
    line = o3.lines.get()
    assert (outcome["status"], outcome["quantity"], outcome["amount"]) == ("partial", 70, "805.00")
    assert outcome["shortfalls"] == [
        {"line": line.pk, "item_code": "WIDGET", "requested": 100, "allocated": 70, "short": 30, "reason": "not enough stock"},
    ]
    o3.refresh_from_db()
    assert o3.status == OrderStatus.PARTIALLY_ALLOCATED
    assert (report.run.orders_fully_allocated, report.run.orders_partly_allocated) == (2, 1)
    assert allocated_by_lot()["L4"] == 0


def test_had_o1_been_allocated_on_the_15th_the_moving_average_gives_o2_11_3846(widget_example):
    orders = widget_example["orders"]
    first = allocation_run(method=Method.MOVING_AVERAGE, orders=[orders["O1"]], as_of=date(2026, 1, 15))
    second = allocation_run(method=Method.MOVING_AVERAGE, orders=[orders["O2"]], as_of=AS_OF)
    assert result_rows(first.run) == [("O1", "L1", 100, D("11.0000"), D("1100.00")), ("O1", "L2", 20, D("11.0000"), D("220.00"))]
    assert result_rows(second.run) == [("O2", "L2", 30, D("11.3846"), D("341.54")), ("O2", "L3", 30, D("11.3846"), D("341.54"))]


def test_running_the_same_allocation_twice_allocates_nothing_the_second_time(widget_example, books_balance):
    orders = list(widget_example["orders"].values())
    allocation_run(method=Method.FIFO, as_of=AS_OF)
    again = allocation_run(method=Method.FIFO, orders=orders, as_of=AS_OF)
    assert again.run.results.count() == 0
    assert again.run.allocated_quantity == 0
    assert [o["reason"] for o in again.outcomes] == ["already allocated", "already allocated"]
    assert AllocationResult.objects.count() == 4
    # and with the default (all open orders) there is nothing left to consider
    assert allocation_run(method=Method.FIFO, as_of=AS_OF).run.orders_considered == 0
    books_balance()


def test_a_partly_allocated_order_gets_only_what_its_lines_still_miss(widget_example, books_balance):
    o2 = widget_example["orders"]["O2"]
    lot = widget_example["lots"]["L3"]
    Lot.objects.filter(pk=lot.pk).update(quantity=100)
    allocation_run(method=Method.FIFO, as_of=AS_OF, allow_inbound=False)  # O1 120, O2 60: all in stock
    Lot.objects.filter(pk=widget_example["lots"]["L4"].pk).update(received_on=date(2026, 1, 24))
    o2.lines.update(quantity=90)  # the customer wants 30 more
    report = allocation_run(method=Method.FIFO, orders=[o2], as_of=AS_OF)
    assert result_rows(report.run) == [("O2", "L3", 30, D("11.5000"), D("345.00"))]
    assert report.outcomes[0]["quantity"] == 30
    books_balance()


# --- SPECIFIC ---------------------------------------------------------------

def test_specific_takes_the_named_lots_and_skips_a_line_with_none_named(widget_example):
    lots, item = widget_example["lots"], widget_example["item"]
    order_with_lines("S1", date(2026, 1, 1), (item, 40, lots["L3"]), (item, 5))
    report = allocation_run(method=Method.SPECIFIC, orders=[Order.objects.get(order_number="S1")], as_of=AS_OF)
    assert result_rows(report.run) == [("S1", "L3", 40, D("11.5000"), D("460.00"))]
    assert report.outcomes[0]["status"] == "partial"
    assert [s["reason"] for s in report.outcomes[0]["shortfalls"]] == ["no lot named"]


def test_specific_says_why_a_named_lot_cannot_be_used(widget_example):
    item, lots = widget_example["item"], widget_example["lots"]
    expired = LotFactory(reference="OLD", item=item, received_on=date(2025, 12, 1), expires_on=date(2026, 1, 20))
    other = LotFactory(reference="G1", item=ItemFactory(item_code="GADGET"), received_on=date(2026, 1, 1))
    orders = [
        order_with_lines("S1", date(2026, 1, 1), (item, 5, expired)),
        order_with_lines("S2", date(2026, 1, 2), (item, 5, lots["L4"])),
        order_with_lines("S3", date(2026, 1, 3), (item, 5, other)),
    ]
    report = allocation_run(method=Method.SPECIFIC, orders=orders, as_of=AS_OF, allow_inbound=False)
    assert report.run.results.count() == 0
    assert [o["reason"] for o in report.outcomes] == [
        "lot OLD is expired", "lot L4 is not received yet", "lot G1 is of another item",
    ]
    assert allocated_by_lot()["OLD"] == allocated_by_lot()["G1"] == 0


def test_no_method_allocates_an_expired_lot(widget_example):
    item = widget_example["item"]
    Lot.objects.filter(reference__in=["L1", "L2", "L3", "L4"]).update(expires_on=date(2026, 1, 24))
    LotFactory(reference="FRESH", item=item, received_on=date(2026, 1, 2), quantity=500, unit_cost=D("9"))
    for method in Method.values:
        report = allocation_run(method=method, as_of=AS_OF, dry_run=True)
        assert {p.lot_id for p in report.picks} <= {Lot.objects.get(reference="FRESH").pk}, method


# --- policies -----------------------------------------------------------------

@pytest.fixture
def scarce():
    """Item SCARCE: 10 units; A (old, priority 0, poor payer) and B (newer, priority 5, good payer) want 10 each."""
    from orders.models import PaymentStatus
    from tests.factories import CustomerFactory, PaymentFactory

    item = ItemFactory(item_code="SCARCE")
    LotFactory(reference="S-LOT", item=item, quantity=10, received_on=date(2026, 1, 1))
    poor, good = CustomerFactory(code="POOR"), CustomerFactory(code="GOOD")
    PaymentFactory(customer=poor, due_date=date(2026, 1, 10), paid_on=None)  # overdue
    PaymentFactory(customer=good, due_date=date(2026, 1, 10), paid_on=date(2026, 1, 9), status=PaymentStatus.PAID)
    a = order_with_lines("A", date(2026, 1, 2), (item, 10), customer=poor, priority=0)
    b = order_with_lines("B", date(2026, 1, 3), (item, 10), customer=good, priority=5)
    return a, b


@pytest.mark.parametrize(("policy", "winner"), [("order_date", "A"), ("priority", "B"), ("customer_score", "B")])
def test_the_policy_decides_who_gets_scarce_stock(scarce, policy, winner):
    report = allocation_run(method=Method.FIFO, as_of=AS_OF, policy=policy)
    assert [(o["order_number"], o["status"]) for o in report.outcomes] == [
        (winner, "allocated"), ({"A": "B", "B": "A"}[winner], "not_allocated"),
    ]
    assert dict(Order.objects.values_list("order_number", "status")) == {
        winner: OrderStatus.ALLOCATED, {"A": "B", "B": "A"}[winner]: OrderStatus.OPEN,
    }


def test_equal_priorities_fall_back_to_the_oldest_order(scarce):
    Order.objects.update(priority=3)
    report = allocation_run(method=Method.FIFO, as_of=AS_OF, policy="priority")
    assert report.outcomes[0]["order_number"] == "A"


# --- all or nothing -------------------------------------------------------------

def snapshot() -> tuple:
    return (
        AllocationRun.objects.count(), AllocationResult.objects.count(),
        sorted(Lot.objects.values_list("id", "quantity", "allocated_quantity")),
        sorted(Order.objects.values_list("id", "status")),
    )


@pytest.mark.parametrize("method", Method.values)
def test_a_dry_run_computes_the_same_answer_and_writes_nothing(widget_example, method):
    before = snapshot()
    dry = allocation_run(method=method, as_of=AS_OF, dry_run=True)
    assert snapshot() == before
    assert dry.run.pk is None
    real = allocation_run(method=method, as_of=AS_OF)
    assert dry.outcomes == real.outcomes
    assert [(p.lot_id, p.quantity, p.unit_cost, p.amount) for p in dry.picks] == [
        (r.lot_id, r.allocated_quantity, r.unit_cost, r.allocated_price) for r in real.run.results.order_by("id")
    ]


def test_a_failure_in_the_middle_of_a_run_leaves_no_result_no_run_and_no_changed_lot(widget_example, monkeypatch):
    # given: every write of the run goes through, then something fails before the commit
    seen_inside = []

    def write_then_fail(*args, **kwargs):
        real_write(*args, **kwargs)
        seen_inside.append((AllocationResult.objects.count(), Lot.objects.get(reference="L1").allocated_quantity))
        raise RuntimeError("disk full")

    real_write = writes.write_run
    monkeypatch.setattr(writes, "write_run", write_then_fail)
    before = snapshot()
    # when
    with pytest.raises(RuntimeError, match="disk full"):
        allocation_run(method=Method.FIFO, as_of=AS_OF)
    # then: the run had written its 4 results and taken L1, and all of it was rolled back
    assert seen_inside == [(4, 100)]
    assert snapshot() == before


def test_an_allocation_date_in_the_future_is_refused_on_as_of(widget_example):
    with pytest.raises(InvalidInput) as raised:
        allocation_run(method=Method.FIFO, as_of=timezone.localdate() + timedelta(days=1))
    assert raised.value.field == "as_of"
    assert AllocationRun.objects.count() == 0


def test_unknown_method_or_policy_is_refused_on_its_field(widget_example):
    with pytest.raises(InvalidInput) as method:
        allocation_run(method="HIFO", as_of=AS_OF)
    with pytest.raises(InvalidInput) as policy:
        allocation_run(method=Method.FIFO, as_of=AS_OF, policy="loudest")
    assert (method.value.field, policy.value.field) == ("method", "policy")


def test_unknown_order_ids_are_not_found_and_nothing_is_written(widget_example):
    before = snapshot()
    with pytest.raises(NotFound) as raised:
        allocation_run(method=Method.FIFO, orders=[widget_example["orders"]["O1"].pk, 999_999], as_of=AS_OF)
    assert raised.value.data["orders"] == [999_999]
    assert snapshot() == before
    with pytest.raises(InvalidInput) as bad:
        allocation_run(method=Method.FIFO, orders=["abc"], as_of=AS_OF)
    assert bad.value.field == "orders"


def test_one_order_that_cannot_be_filled_without_partial_is_insufficient_stock_and_nothing_is_written(widget_example):
    o3 = order_with_lines("O3", date(2026, 1, 24), (widget_example["item"], 500))
    before = snapshot()
    with pytest.raises(InsufficientStock) as raised:
        allocation_run(method=Method.FIFO, orders=[o3], as_of=AS_OF, allow_partial=False)
    shortfall = raised.value.shortfalls[0]
    # nothing allocated; 450 were there (L1-L3 and the inbound L4), so 50 are missing
    assert (shortfall.line_id, shortfall.requested, shortfall.allocated, shortfall.available, shortfall.short) == (
        o3.lines.get().pk, 500, 0, 450, 50,
    )
    assert snapshot() == before


def test_without_partial_a_skipped_order_leaves_its_stock_for_the_next(widget_example, books_balance):
    item = widget_example["item"]
    order_with_lines("BIG", date(2026, 1, 1), (item, 200), (ItemFactory(item_code="NONE"), 1))
    report = allocation_run(method=Method.FIFO, as_of=AS_OF, allow_partial=False, allow_inbound=False)
    big = report.outcomes[0]
    assert (big["order_number"], big["status"], big["quantity"], big["reason"]) == ("BIG", "skipped", 0,
                                                                                    "not every line can be filled")
    assert [(s["item_code"], s["short"]) for s in big["shortfalls"]] == [("NONE", 1)]
    assert [o["status"] for o in report.outcomes[1:]] == ["allocated", "allocated"]
    assert result_rows(report.run) == WORKED_EXAMPLE[Method.FIFO]
    assert report.run.orders_not_allocated == 1
    books_balance()


def test_a_cancelled_order_named_in_a_run_is_skipped_and_alone_it_is_a_conflict(widget_example):
    from allocation.services import order_cancel

    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    order_cancel(order=o1)
    report = allocation_run(method=Method.FIFO, orders=[o1, o2], as_of=AS_OF)
    assert {o["order_number"]: (o["status"], o["reason"]) for o in report.outcomes} == {
        "O1": ("skipped", "cancelled"), "O2": ("allocated", ""),
    }
    with pytest.raises(Conflict):
        allocation_run(method=Method.FIFO, orders=[o1], as_of=AS_OF)


def test_a_queued_run_executes_later_with_the_same_answer(widget_example):
    run = allocation_run_queue(RunRequest.of(method=Method.FIFO, as_of=AS_OF))
    assert AllocationRun.objects.get(pk=run.pk).status == RunStatus.QUEUED
    assert AllocationResult.objects.count() == 0
    report = allocation_run_queued(run_id=run.pk)
    assert result_rows(AllocationRun.objects.get(pk=run.pk)) == WORKED_EXAMPLE[Method.FIFO]
    assert report.run.status == RunStatus.DONE
    with pytest.raises(Conflict):
        allocation_run_queued(run_id=run.pk)


def test_a_queued_run_that_fails_is_marked_failed_and_writes_nothing_else(widget_example, monkeypatch):
    run = allocation_run_queue(RunRequest.of(method=Method.FIFO, as_of=AS_OF))

    def write_then_fail(*args, **kwargs):
        real_write(*args, **kwargs)
        raise RuntimeError("lost the database")

    real_write = writes.write_run
    monkeypatch.setattr(writes, "write_run", write_then_fail)
    with pytest.raises(RuntimeError):
        allocation_run_queued(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, "lost the database")
    assert AllocationResult.objects.count() == 0
    assert set(Lot.objects.values_list("allocated_quantity", flat=True)) == {0}
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.OPEN}


def test_progress_is_reported_once_per_order_served(widget_example):
    ticks = []
    allocation_run(method=Method.FIFO, as_of=AS_OF, progress=ticks.append)
    assert sum(ticks) == 2


def test_the_user_who_started_a_run_is_recorded(widget_example, django_user_model):
    user = django_user_model.objects.create_user("allocator")
    report = allocation_run(method=Method.FIFO, as_of=AS_OF, user=user)
    assert AllocationRun.objects.get(pk=report.run.pk).started_by == user


@pytest.mark.parametrize("method", [Method.FIFO, Method.MOVING_AVERAGE, Method.TOTAL_AVERAGE, Method.LAST_PURCHASE])
def test_tiny_batches_give_the_same_answer_as_one_batch(widget_example, settings, method, books_balance):
    # given: a second item and a third order, and every query split into batches of one id
    gadget = ItemFactory(item_code="GADGET")
    LotFactory(reference="G1", item=gadget, quantity=5, unit_cost=D("2"), received_on=date(2026, 1, 3))
    LotFactory(reference="G2", item=gadget, quantity=5, unit_cost=D("3"), received_on=date(2026, 1, 4))
    order_with_lines("O0", date(2026, 1, 2), (gadget, 7), (widget_example["item"], 5))
    expected = allocation_run(method=method, as_of=AS_OF, dry_run=True)
    settings.ALLOCATION_BATCH_SIZE = 1
    # when
    report = allocation_run(method=method, as_of=AS_OF)
    released = allocation_release(orders=list(Order.objects.all()))
    # then
    assert report.outcomes == expected.outcomes
    assert report.picks == expected.picks
    assert (released.released, released.quantity) == (len(expected.picks), 192)
    books_balance()


def test_a_run_pauses_the_garbage_collector_and_restores_it(widget_example, monkeypatch):
    import gc

    from allocation import services

    seen = []
    plan = services.plan_run

    def watching_plan(run, *args, **kwargs):
        seen.append(gc.isenabled())
        if run.method == Method.LIFO:
            raise RuntimeError("failed in the middle of the run")
        return plan(run, *args, **kwargs)

    monkeypatch.setattr(services, "plan_run", watching_plan)
    assert gc.isenabled()
    allocation_run(method="FIFO", as_of=AS_OF, dry_run=True)
    assert seen == [False] and gc.isenabled()
    with pytest.raises(RuntimeError):  # a failing run restores it too
        allocation_run(method="LIFO", as_of=AS_OF)
    assert seen == [False, False] and gc.isenabled()
    gc.disable()
    try:  # a caller that had paused the collector keeps it paused
        allocation_run(method="FIFO", as_of=AS_OF, dry_run=True)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_nested_and_overlapping_pauses_end_with_the_collector_as_found():
    import gc

    from allocation.services import _collector_paused

    first, second = _collector_paused(), _collector_paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)  # the first to start ends first: still paused for the second
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_run_is_stamped_when_it_starts_and_a_dry_run_is_not_stamped(widget_example):
    before = timezone.now()
    report = allocation_run(method="FIFO", as_of=AS_OF)
    run = AllocationRun.objects.get(pk=report.run.pk)
    # its row is written when it ends, but it says when it started
    assert before <= run.started_at <= run.finished_at <= timezone.now()
    assert report.run.started_at == run.started_at
    dry = allocation_run(method="FIFO", as_of=AS_OF, dry_run=True).run
    assert dry.pk is None and dry.started_at is None
    queued = allocation_run_queue(RunRequest.of(method="FIFO", as_of=AS_OF))
    assert AllocationRun.objects.get(pk=queued.pk).started_at is not None
