"""Customers, payments and orders (nested lines, the flat shape, release, cancel) through the API."""
from datetime import date

from orders.models import Order
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API
from tests.factories import CustomerFactory, ItemFactory, LotFactory, PaymentFactory, order_with_lines


def test_an_order_is_created_with_its_lines(clerk):
    # given
    widget = ItemFactory(item_code="WIDGET", unit_price="20.00")
    LotFactory(reference="L1", item=widget)
    customer = CustomerFactory(code="ACME")
    # when
    response = clerk.post(f"{API}orders/", {
        "order_number": "O1", "customer": customer.pk, "order_date": "2026-01-06", "priority": 2,
        "lines": [{"item_code": "WIDGET", "quantity": 120}, {"item_code": "WIDGET", "quantity": 5, "lot": "L1"}],
    }, format="json")
    # then
    assert response.status_code == 201
    body = response.json()
    assert (body["order_number"], body["status"], body["customer_code"]) == ("O1", "open", "ACME")
    assert [(line["item_code"], line["quantity"], line["lot"]) for line in body["lines"]] == [
        ("WIDGET", 120, None), ("WIDGET", 5, "L1"),
    ]
    assert body["lines"][0]["unit_price"] == "20.00"


def test_a_line_naming_a_lot_of_another_item_is_a_400_on_that_lines_lot(clerk):
    ItemFactory(item_code="WIDGET")
    LotFactory(reference="G1", item=ItemFactory(item_code="GADGET"))
    response = clerk.post(f"{API}orders/", {"order_number": "O1", "lines": [
        {"item_code": "WIDGET", "quantity": 1}, {"item_code": "WIDGET", "quantity": 1, "lot": "G1"},
    ]}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["lines"]["1"]["lot"] == ["Lot G1 is not a lot of item WIDGET."]
    assert not Order.objects.exists()


def test_an_order_without_lines_or_with_a_zero_quantity_is_a_400(clerk):
    ItemFactory(item_code="WIDGET")
    empty = clerk.post(f"{API}orders/", {"order_number": "O1", "lines": []}, format="json")
    zero = clerk.post(f"{API}orders/", {"lines": [{"item_code": "WIDGET", "quantity": 0}]}, format="json")
    assert empty.status_code == 400 and "lines" in empty.json()
    assert zero.status_code == 400 and "quantity" in zero.json()["lines"]["0"]


def test_an_order_in_the_original_flat_shape_has_one_line(clerk):
    ItemFactory(item_code="WIDGET")
    response = clerk.post(f"{API}orders/", {"order_id": "ORD-7", "item_code": "WIDGET", "quantity": 3}, format="json")
    assert response.status_code == 201
    assert response.json()["order_number"] == "ORD-7"
    assert [(line["item_code"], line["quantity"]) for line in response.json()["lines"]] == [("WIDGET", 3)]


def test_an_order_number_is_generated_when_none_is_given(clerk):
    ItemFactory(item_code="WIDGET")
    response = clerk.post(f"{API}orders/", {"lines": [{"item_code": "WIDGET", "quantity": 3}]}, format="json")
    assert response.status_code == 201
    assert response.json()["order_number"].startswith("SO-")


def test_a_new_status_is_refused_with_how_to_change_it_and_nothing_changes(widget_example, clerk):
    order = widget_example["orders"]["O1"]
    response = clerk.patch(f"{API}orders/{order.pk}/", {"status": "allocated", "priority": 5}, format="json")
    assert response.status_code == 400
    assert "release/" in response.json()["status"][0] and "cancel/" in response.json()["status"][0]
    assert Order.objects.get(pk=order.pk).priority == 0


def test_the_current_status_may_be_sent_back(widget_example, clerk):
    order = widget_example["orders"]["O1"]
    response = clerk.patch(f"{API}orders/{order.pk}/", {"status": "open", "priority": 5}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["priority"]) == ("open", 5)


def test_orders_filter_by_status_customer_date_and_item(widget_example, allocator):
    gadget = ItemFactory(item_code="GADGET")
    acme = CustomerFactory(code="ACME")
    order_with_lines("O3", date(2026, 1, 20), (gadget, 1), customer=acme)
    allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25",
                                       "orders": [widget_example["orders"]["O1"].pk]}, format="json")
    numbers = lambda query: sorted(o["order_number"] for o in allocator.get(f"{API}orders/{query}").json()["results"])  # noqa: E731
    assert numbers("?status=allocated") == ["O1"]
    assert numbers("?status=open") == ["O2", "O3"]
    assert numbers(f"?customer={acme.pk}") == ["O3"]
    assert numbers("?order_date_after=2026-01-10") == ["O2", "O3"]
    assert numbers("?item_code=GADGET") == ["O3"]
    assert allocator.get(f"{API}orders/?customer=999999").status_code == 400


def test_an_order_holding_allocations_cannot_be_edited_or_deleted_until_released(widget_example, allocator):
    # given
    order = widget_example["orders"]["O1"]
    allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25"}, format="json")
    # when
    edit = allocator.patch(f"{API}orders/{order.pk}/", {"priority": 9}, format="json")
    delete = allocator.delete(f"{API}orders/{order.pk}/")
    released = allocator.post(f"{API}orders/{order.pk}/release/", {}, format="json")
    edit_after = allocator.patch(f"{API}orders/{order.pk}/", {"priority": 9}, format="json")
    # then
    assert (edit.status_code, delete.status_code) == (409, 409)
    assert "release them first" in edit.json()["detail"]
    assert released.json() == {"released": 2, "quantity": 120, "result_ids": released.json()["result_ids"]}
    assert edit_after.status_code == 200 and edit_after.json()["status"] == "open"


def test_an_order_with_released_history_cannot_be_deleted(widget_example, allocator):
    order = widget_example["orders"]["O1"]
    allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25"}, format="json")
    allocator.post(f"{API}orders/{order.pk}/release/", {}, format="json")
    response = allocator.delete(f"{API}orders/{order.pk}/")
    assert response.status_code == 409
    assert "allocation history" in response.json()["detail"] and "Cancel it instead" in response.json()["detail"]


def test_a_release_can_be_limited_to_one_lot(widget_example, allocator):
    order = widget_example["orders"]["O1"]
    allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25"}, format="json")
    response = allocator.post(f"{API}orders/{order.pk}/release/", {"lot": "L2"}, format="json")
    assert (response.json()["released"], response.json()["quantity"]) == (1, 20)
    results = allocator.get(f"{API}orders/{order.pk}/allocations/").json()["results"]
    assert [(r["lot"], r["allocated_quantity"], r["released_at"] is None) for r in results] == [
        ("L1", 100, True), ("L2", 20, False),
    ]
    assert allocator.get(f"{API}orders/{order.pk}/").json()["status"] == "partially_allocated"
    assert allocator.post(f"{API}orders/{order.pk}/release/", {"lot": "NOPE"}, format="json").status_code == 404


def test_cancelling_an_order_releases_it_and_twice_is_a_409(widget_example, allocator):
    order = widget_example["orders"]["O1"]
    allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25"}, format="json")
    first = allocator.post(f"{API}orders/{order.pk}/cancel/")
    second = allocator.post(f"{API}orders/{order.pk}/cancel/")
    assert (first.status_code, first.json()["quantity"]) == (200, 120)
    assert allocator.get(f"{API}orders/{order.pk}/").json()["status"] == "cancelled"
    assert second.status_code == 409


def test_order_lines_show_their_allocated_quantity(widget_example, allocator):
    order = widget_example["orders"]["O2"]
    allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25"}, format="json")
    assert allocator.get(f"{API}orders/{order.pk}/").json()["lines"][0]["allocated_quantity"] == 60


def test_a_customer_has_metrics_with_a_score_and_four_parts(clerk):
    customer = CustomerFactory(code="ACME")
    PaymentFactory(customer=customer, due_date=date(2026, 1, 31), paid_on=date(2026, 1, 20), status="paid")
    response = clerk.get(f"{API}customers/{customer.pk}/metrics/")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"customer", "performance", "payment_frequency", "credit_adherence", "stock_availability", "score"}
    assert body["credit_adherence"] == 1.0
    assert 0 <= body["score"] <= 100
    assert clerk.get(f"{API}customers/999999/metrics/").status_code == 404


def test_payments_filter_by_customer_status_and_dates(clerk):
    acme, other = CustomerFactory(code="ACME"), CustomerFactory(code="OTHER")
    PaymentFactory(customer=acme, due_date=date(2026, 1, 10), status="paid", paid_on=date(2026, 1, 9))
    PaymentFactory(customer=acme, due_date=date(2026, 2, 10))
    PaymentFactory(customer=other, due_date=date(2026, 1, 10))
    count = lambda query: clerk.get(f"{API}payments/{query}").json()["count"]  # noqa: E731
    assert count(f"?customer={acme.pk}") == 2
    assert count(f"?customer={acme.pk}&status=pending") == 1
    assert count("?due_date_before=2026-01-31") == 2
    assert clerk.get(f"{API}payments/?status=nonsense").status_code == 400


def test_a_customer_with_orders_cannot_be_deleted(widget_example, clerk):
    customer = widget_example["orders"]["O1"].customer
    response = clerk.delete(f"{API}customers/{customer.pk}/")
    assert response.status_code == 409


def test_editing_lines_keeps_those_named_by_id_and_refuses_to_drop_one_with_history(widget_example, allocator):
    # given: O1 allocated then released, so its line has history
    order = widget_example["orders"]["O1"]
    line = order.lines.get()
    allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25", "orders": [order.pk]}, format="json")
    allocator.post(f"{API}orders/{order.pk}/release/", {}, format="json")
    url = f"{API}orders/{order.pk}/"
    # when
    dropped = allocator.patch(url, {"lines": [{"item_code": "WIDGET", "quantity": 5}]}, format="json")
    unknown = allocator.patch(url, {"lines": [{"id": 999999, "item_code": "WIDGET", "quantity": 5}]}, format="json")
    kept = allocator.patch(url, {"lines": [{"id": line.pk, "item_code": "WIDGET", "quantity": 90},
                                           {"item_code": "WIDGET", "quantity": 5}]}, format="json")
    # then
    assert dropped.status_code == 409 and dropped.json()["lines"] == [line.pk]
    assert unknown.status_code == 400 and "lines" in unknown.json()
    assert kept.status_code == 200
    assert [(row["id"] == line.pk, row["quantity"]) for row in kept.json()["lines"]] == [(True, 90), (False, 5)]
