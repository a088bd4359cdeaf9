"""Cancelling many orders at once is one all-or-nothing service call."""
from datetime import date

import pytest

from allocation.domain import Conflict
from allocation.models import AllocationResult
from allocation.services import allocation_run, order_cancel
from orders.models import Order, OrderStatus
from stock.models import Lot

pytestmark = pytest.mark.django_db


def test_cancelling_many_orders_releases_them_all_in_one_call(widget_example, django_assert_max_num_queries):
    allocation_run(method="FIFO", as_of=date(2026, 1, 25))
    ids = [o.pk for o in widget_example["orders"].values()]
    with django_assert_max_num_queries(22):  # 15, and 7 to write the orders' events in one go
        report = order_cancel(orders=ids)
    assert (report.released, report.quantity) == (4, 180)
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    assert sum(Lot.objects.values_list("allocated_quantity", flat=True)) == 0
    assert not AllocationResult.objects.active().exists()


def test_cancelling_an_already_cancelled_order_among_others_changes_nothing(widget_example):
    allocation_run(method="FIFO", as_of=date(2026, 1, 25))
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    order_cancel(order=o2)
    with pytest.raises(Conflict, match="O2 is already cancelled"):
        order_cancel(orders=[o1.pk, o2.pk])
    o1.refresh_from_db()
    assert o1.status == OrderStatus.ALLOCATED
    assert Lot.objects.get(reference="L1").allocated_quantity == 100
