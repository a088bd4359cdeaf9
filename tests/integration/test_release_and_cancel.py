"""Releasing allocations and cancelling orders: quantity goes back, results keep their row, status follows."""
from datetime import date

import pytest

from allocation.domain import Conflict, InvalidInput, NotFound
from allocation.models import AllocationResult, Method
from allocation.services import allocation_release, allocation_run, order_cancel
from orders.models import Order, OrderStatus
from stock.models import Lot

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 1, 25)


@pytest.fixture
def allocated(widget_example):
    """The worked example allocated by FIFO: O1 L1 100 + L2 20, O2 L2 30 + L3 30."""
    allocation_run(method=Method.FIFO, as_of=AS_OF)
    return widget_example


def lots() -> dict[str, int]:
    return dict(Lot.objects.values_list("reference", "allocated_quantity"))


def status(number: str) -> str:
    return Order.objects.get(order_number=number).status


def test_releasing_an_order_returns_its_quantity_and_keeps_its_results_stamped(allocated, books_balance, django_user_model):
    user = django_user_model.objects.create_user("clerk")
    # when
    report = allocation_release(order=allocated["orders"]["O1"], user=user)
    # then
    assert (report.released, report.quantity) == (2, 120)
    assert lots() == {"L1": 0, "L2": 30, "L3": 30, "L4": 0}
    assert status("O1") == OrderStatus.OPEN and status("O2") == OrderStatus.ALLOCATED
    released = AllocationResult.objects.filter(id__in=report.result_ids)
    assert released.count() == 2
    assert all(r.released_at is not None and r.released_by == user for r in released)
    assert AllocationResult.objects.count() == 4
    books_balance()


def test_releasing_twice_releases_nothing_the_second_time(allocated):
    allocation_release(order=allocated["orders"]["O1"])
    again = allocation_release(order=allocated["orders"]["O1"])
    assert (again.released, again.quantity) == (0, 0)
    assert lots() == {"L1": 0, "L2": 30, "L3": 30, "L4": 0}


def test_releasing_some_results_leaves_the_order_partly_allocated(allocated, books_balance):
    l2_of_o2 = AllocationResult.objects.get(order__order_number="O2", lot__reference="L2")
    report = allocation_release(results=[l2_of_o2.pk])
    assert (report.released, report.quantity, report.result_ids) == (1, 30, [l2_of_o2.pk])
    assert lots()["L2"] == 20
    assert status("O2") == OrderStatus.PARTIALLY_ALLOCATED
    books_balance()
    with pytest.raises(Conflict):
        allocation_release(results=[l2_of_o2.pk])
    with pytest.raises(NotFound):
        allocation_release(results=[l2_of_o2.pk + 1000])


def test_releasing_one_orders_results_on_one_lot_touches_nothing_else(allocated, books_balance):
    report = allocation_release(order=allocated["orders"]["O2"], lot="L2")
    assert (report.released, report.quantity) == (1, 30)
    assert lots() == {"L1": 100, "L2": 20, "L3": 30, "L4": 0}
    assert status("O1") == OrderStatus.ALLOCATED and status("O2") == OrderStatus.PARTIALLY_ALLOCATED
    books_balance()


def test_releasing_a_lot_releases_every_order_holding_it(allocated, books_balance):
    report = allocation_release(lot=allocated["lots"]["L2"])
    assert (report.released, report.quantity) == (2, 50)
    assert lots() == {"L1": 100, "L2": 0, "L3": 30, "L4": 0}
    assert status("O1") == status("O2") == OrderStatus.PARTIALLY_ALLOCATED
    books_balance()


def test_a_release_needs_something_to_release_and_a_lot_that_exists(allocated):
    with pytest.raises(InvalidInput):
        allocation_release()
    with pytest.raises(NotFound):
        allocation_release(lot="NO-SUCH-LOT")
    with pytest.raises(NotFound):
        allocation_release(lot=999_999)  # an unknown lot id is as unknown as an unknown reference
    with pytest.raises(NotFound):
        allocation_release(order=999_999)
    assert lots() == {"L1": 100, "L2": 50, "L3": 30, "L4": 0}


def test_an_empty_list_of_orders_releases_nothing_rather_than_everything(allocated):
    with pytest.raises(InvalidInput) as raised:
        allocation_release(orders=[])
    assert raised.value.field == "orders"
    with pytest.raises(InvalidInput):
        allocation_release(orders=[], lot="L2")
    assert allocation_release(results=[]).released == 0
    assert lots() == {"L1": 100, "L2": 50, "L3": 30, "L4": 0}
    assert AllocationResult.objects.active().count() == 4


def test_released_stock_is_allocated_again_to_the_next_order(allocated, books_balance):
    # given: O1 released, O3 wants 100
    from tests.factories import order_with_lines

    allocation_release(order=allocated["orders"]["O1"])
    order_with_lines("O3", date(2026, 1, 24), (allocated["item"], 100))
    # when: only O3 is asked for
    report = allocation_run(method=Method.FIFO, orders=[Order.objects.get(order_number="O3")], as_of=AS_OF)
    # then: it gets L1's returned 100
    assert [(r.lot.reference, r.allocated_quantity) for r in report.run.results.all()] == [("L1", 100)]
    books_balance()


def test_cancelling_an_order_releases_it_and_marks_it_cancelled(allocated, books_balance):
    o1 = allocated["orders"]["O1"]
    report = order_cancel(order=o1)
    assert (report.released, report.quantity) == (2, 120)
    assert status("O1") == OrderStatus.CANCELLED
    assert lots() == {"L1": 0, "L2": 30, "L3": 30, "L4": 0}
    books_balance()
    with pytest.raises(Conflict):
        order_cancel(order=o1)
    # a cancelled order is no longer an open order: a run over all open orders leaves it alone
    again = allocation_run(method=Method.FIFO, as_of=AS_OF)
    assert again.run.orders_considered == 0
    assert status("O1") == OrderStatus.CANCELLED


def test_cancelling_an_order_with_nothing_allocated(widget_example):
    report = order_cancel(order=widget_example["orders"]["O2"].pk)
    assert report.released == 0
    assert status("O2") == OrderStatus.CANCELLED
