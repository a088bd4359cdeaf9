"""The back office's list pages run a fixed number of queries, whatever their length."""
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from allocation.services import allocation_run
from tests.factories import ItemFactory, LotFactory, order_with_lines


def make_rows(count: int, start: int) -> None:
    """Add `count` lots and orders (one line each), allocate them: one run, `count` results."""
    item = ItemFactory(item_code=f"I{start}")
    orders = []
    for n in range(start, start + count):
        LotFactory(reference=f"L{n}", item=item, quantity=10, received_on=date(2026, 1, 2))
        orders.append(order_with_lines(f"O{n}", date(2026, 1, 3), (item, 10)))
    allocation_run(method="FIFO", orders=orders, as_of=date(2026, 1, 25))


@pytest.mark.parametrize("url", [
    "/admin/orders/order/", "/admin/stock/lot/", "/admin/allocation/allocationresult/",
    "/admin/allocation/allocationrun/", "/admin/stock/item/", "/admin/orders/customer/",
])
def test_a_list_page_runs_as_many_queries_for_50_rows_as_for_5(admin_client, django_assert_max_num_queries, url):
    # given: 5 rows
    make_rows(5, 0)
    with CaptureQueriesContext(connection) as five:
        assert admin_client.get(url).status_code == 200
    # when: 50 rows (45 more lots, orders and results, and 9 more runs)
    for batch in range(9):
        make_rows(5, 100 + batch * 5)
    # then
    with django_assert_max_num_queries(len(five)):
        response = admin_client.get(url)
    assert response.context["cl"].result_count == (10 if "allocationrun" in url or "item" in url else 50)
