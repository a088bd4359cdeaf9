"""The admin lists show derived figures in a fixed number of queries."""
from datetime import date

import pytest
from django.urls import reverse

from allocation.services import allocation_run
from tests.admin_support import list_page
from tests.factories import ItemFactory, LotFactory, order_with_lines

pytestmark = pytest.mark.django_db


def _stock(n: int) -> None:
    for i in range(n):
        item = ItemFactory(item_code=f"ITEM{i:03d}")
        LotFactory(reference=f"L{i:03d}", item=item, quantity=50, received_on=date(2026, 1, 5))
        order_with_lines(f"O{i:03d}", date(2026, 1, 6), (item, 10), (item, 5))
    allocation_run(method="FIFO", as_of=date(2026, 1, 25))


@pytest.mark.parametrize("url_name", [
    "admin:stock_lot_changelist", "admin:orders_order_changelist", "admin:stock_item_changelist",
    "admin:allocation_allocationresult_changelist", "admin:allocation_allocationrun_changelist",
    "admin:orders_customer_changelist", "admin:orders_payment_changelist",
])
def test_admin_lists_run_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries, url_name):
    _stock(3)
    with django_assert_max_num_queries(30) as few:
        assert admin_client.get(reverse(url_name)).status_code == 200
    _stock(0)
    for i in range(3, 40):
        item = ItemFactory(item_code=f"ITEM{i:03d}")
        LotFactory(reference=f"L{i:03d}", item=item, quantity=50, received_on=date(2026, 1, 5))
        order_with_lines(f"O{i:03d}", date(2026, 1, 6), (item, 10), (item, 5))
    allocation_run(method="FIFO", as_of=date(2026, 1, 25))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert admin_client.get(reverse(url_name)).status_code == 200


def test_the_lot_list_shows_allocated_and_available(admin_client):
    _stock(1)
    page = list_page(admin_client.get(reverse("admin:stock_lot_changelist")))
    assert '<td class="field-allocated_quantity">15</td>' in page
    assert '<td class="field-available">35</td>' in page


def test_the_order_list_shows_ordered_allocated_and_status(admin_client):
    _stock(1)
    page = list_page(admin_client.get(reverse("admin:orders_order_changelist")))
    assert '<td class="field-ordered">15</td>' in page
    assert '<td class="field-allocated">15</td>' in page
    assert "Allocated" in page
