"""Big orders: lines are validated and written set-based, and an order holds at most ORDER_MAX_LINES lines."""
from decimal import Decimal

import pytest

from orders.models import Order, OrderLine
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API
from tests.factories import ItemFactory, LotFactory


@pytest.fixture
def catalogue(db):
    items = [ItemFactory(item_code=f"SKU{n:03d}", unit_price=Decimal("2.50")) for n in range(40)]
    lots = [LotFactory(reference=f"LOT{n:03d}", item=item) for n, item in enumerate(items)]
    return items, lots


def order_of(lines: int, catalogue) -> dict:
    items, lots = catalogue
    return {"order_number": "BIG", "lines": [
        {"item_code": items[n % 40].item_code, "quantity": 1 + n % 7, "lot": lots[n % 40].reference} for n in range(lines)
    ]}


def test_the_queries_of_an_order_post_do_not_grow_with_its_lines(clerk, catalogue, django_assert_num_queries):
    # given: the queries of a 2-line order
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert clerk.post(f"{API}orders/", order_of(2, catalogue), format="json").status_code == 201
    Order.objects.all().delete()
    # when / then: 150 lines take the same number (one INSERT; SQLite splits one of over 199 rows in batches)
    with django_assert_num_queries(len(small)):
        response = clerk.post(f"{API}orders/", order_of(150, catalogue), format="json")
    assert response.status_code == 201
    assert OrderLine.objects.count() == 150
    assert response.json()["total_amount"] == str(sum(Decimal("2.50") * (1 + n % 7) for n in range(150)))


def test_an_order_over_the_line_limit_is_refused_before_any_line_is_read(clerk, catalogue, settings,
                                                                          django_assert_max_num_queries):
    settings.ORDER_MAX_LINES = 50

    with django_assert_max_num_queries(6):  # authentication and permissions only
        response = clerk.post(f"{API}orders/", order_of(51, catalogue), format="json")

    assert response.status_code == 400
    assert "at most 50 lines" in response.json()["lines"][0]
    assert not Order.objects.exists()


def test_an_unknown_item_code_names_its_line(clerk, catalogue):
    body = order_of(3, catalogue)
    body["lines"][2]["item_code"] = "NOPE"

    response = clerk.post(f"{API}orders/", body, format="json")

    assert response.status_code == 400
    assert response.json()["lines"] == {"2": {"item_code": ["Object with item_code=NOPE does not exist."]}}


def test_the_service_refuses_lines_over_the_limit_from_any_door(catalogue, settings):
    from allocation.domain import InvalidInput
    from orders.services import order_create, order_lines_save

    settings.ORDER_MAX_LINES = 3
    items, _ = catalogue
    order = order_create(order_number="O1", lines=[{"item": items[0], "quantity": 1}] * 3)

    with pytest.raises(InvalidInput, match="at most 3 lines"):
        order_lines_save(order=order, lines=[{"item": items[1], "quantity": 1}])
    assert order.lines.count() == 3


def test_the_admin_form_refuses_more_lines_than_the_limit(admin_client, catalogue, settings):
    settings.ORDER_MAX_LINES = 2
    items, _ = catalogue
    data = {"order_number": "O9", "order_date": "2026-01-20", "priority": 0, "lines-TOTAL_FORMS": 3,
            "lines-INITIAL_FORMS": 0, "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 2}
    for n in range(3):
        data |= {f"lines-{n}-item": items[n].pk, f"lines-{n}-quantity": 1}

    response = admin_client.post("/admin/orders/order/add/", data)

    assert response.status_code == 200
    assert "Please submit at most 2 forms." in response.content.decode()
    assert not Order.objects.exists()
