"""The order's page in the back office: saved through the order services, read only while it holds allocations."""
from datetime import date
from decimal import Decimal

import pytest

from allocation.models import AllocationResult
from allocation.services import allocation_run
from orders.models import Order, OrderLine, OrderStatus
from tests.factories import CustomerFactory, ItemFactory

AS_OF = date(2026, 1, 25)


def order_form(order: Order | None, lines: list[dict], **changes) -> dict:
    """Return the POST of an order's change form: its fields and the inline formset of its lines."""
    data = {
        "order_number": order.order_number if order else "O9", "customer": (order.customer_id if order else "") or "",
        "order_date": (order.order_date if order else date(2026, 1, 20)).isoformat(),
        "priority": order.priority if order else 0, "note": "",
        "lines-TOTAL_FORMS": len(lines), "lines-INITIAL_FORMS": sum(1 for line in lines if line.get("id")),
        "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 1000,
    }
    for n, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{n}-{key}"] = "" if value is None else value
        if line.get("id"):
            data[f"lines-{n}-order"] = order.pk
    return {**data, **changes}


def current_lines(order: Order) -> list[dict]:
    return [{"id": line.pk, "item": line.item_id, "quantity": line.quantity, "unit_price": line.unit_price or "",
             "lot": line.lot_id} for line in order.lines.order_by("id")]


def books(order: Order) -> tuple:
    lines = tuple(OrderLine.objects.filter(order=order).order_by("id").values_list("id", "item_id", "quantity"))
    results = tuple(AllocationResult.objects.filter(order=order).order_by("id").values_list("id", "allocated_quantity",
                                                                                             "released_at"))
    return Order.objects.get(pk=order.pk).status, lines, results


@pytest.fixture
def allocated(widget_example):
    o1 = widget_example["orders"]["O1"]
    allocation_run(method="FIFO", orders=[o1], as_of=AS_OF)
    return o1


def test_a_new_order_is_saved_with_its_lines_through_the_service(admin_client, widget_example):
    # given
    widget, customer = widget_example["item"], CustomerFactory(code="ACME")
    lines = [{"item": widget.pk, "quantity": 7, "unit_price": "0.15"}, {"item": widget.pk, "quantity": 3}]
    # when
    response = admin_client.post("/admin/orders/order/add/", order_form(None, lines, customer=customer.pk))
    # then
    assert response.status_code == 302
    order = Order.objects.get(order_number="O9")
    assert [(line.quantity, line.unit_price) for line in order.lines.order_by("id")] == [
        (7, Decimal("0.15")), (3, widget.unit_price),  # an empty price is the item's
    ]
    assert order.status == OrderStatus.OPEN


def test_an_open_order_changes_its_lines_removes_one_and_adds_one(admin_client, widget_example):
    # given
    o1, gadget = widget_example["orders"]["O1"], ItemFactory(item_code="GADGET")
    o1_line = o1.lines.get()
    extra = OrderLine.objects.create(order=o1, item=gadget, quantity=5)
    lines = current_lines(o1)
    lines[0]["quantity"] = 130
    lines[1]["DELETE"] = "on"
    lines.append({"item": gadget.pk, "quantity": 9})
    # when
    response = admin_client.post(f"/admin/orders/order/{o1.pk}/change/", order_form(o1, lines))
    # then
    assert response.status_code == 302
    assert list(o1.lines.order_by("id").values_list("id", "item__item_code", "quantity")) == [
        (o1_line.pk, "WIDGET", 130), (extra.pk + 1, "GADGET", 9),
    ]


def test_the_page_of_an_allocated_order_is_read_only_and_says_why_with_a_release_button(admin_client, allocated):
    page = admin_client.get(f"/admin/orders/order/{allocated.pk}/change/").content.decode()

    assert "Order O1 holds allocations for 120 units: release them first." in page
    assert f'action="/admin/orders/order/{allocated.pk}/release/"' in page
    assert 'name="lines-0-quantity"' not in page and 'name="_save"' not in page  # nothing to edit


def test_saving_an_allocated_order_from_a_form_opened_before_is_refused_and_changes_nothing(admin_client, allocated):
    # given: the form as it was before the allocation, with one line changed
    before = books(allocated)
    lines = current_lines(allocated)
    lines[0]["quantity"] = 10
    # when
    response = admin_client.post(f"/admin/orders/order/{allocated.pk}/change/", order_form(allocated, lines), follow=True)
    # then
    assert [str(m) for m in response.context["messages"]] == [
        "Order O1 holds allocations for 120 units: release them first."
    ]
    assert books(allocated) == before


def test_deleting_an_allocated_order_is_refused_in_the_services_words(admin_client, allocated):
    before = books(allocated)

    for response in (admin_client.get(f"/admin/orders/order/{allocated.pk}/delete/", follow=True),
                     admin_client.post(f"/admin/orders/order/{allocated.pk}/delete/", {"post": "yes"}, follow=True)):
        assert [str(m) for m in response.context["messages"]] == [
            "Order O1 holds allocations for 120 units: release them first."
        ]
    assert books(allocated) == before


def test_deleting_selected_orders_refuses_all_when_one_is_allocated(admin_client, allocated, widget_example):
    o2 = widget_example["orders"]["O2"]

    response = admin_client.post("/admin/orders/order/", {
        "action": "delete_selected", "_selected_action": [allocated.pk, o2.pk], "post": "yes"}, follow=True)

    assert "Order O1 holds allocations for 120 units: release them first." in [str(m) for m in response.context["messages"]]
    assert Order.objects.filter(pk__in=[allocated.pk, o2.pk]).count() == 2


def test_the_release_button_releases_the_order_and_makes_it_editable_again(admin_client, allocated):
    response = admin_client.post(f"/admin/orders/order/{allocated.pk}/release/", follow=True)

    assert "Released 2 allocation results (120 units)." in [str(m) for m in response.context["messages"]]
    assert Order.objects.get(pk=allocated.pk).status == OrderStatus.OPEN
    page = admin_client.get(f"/admin/orders/order/{allocated.pk}/change/").content.decode()
    assert "holds allocations" not in page and 'name="lines-0-quantity"' in page


def test_an_order_with_allocation_history_cannot_be_deleted_but_says_to_cancel_it(admin_client, allocated):
    admin_client.post(f"/admin/orders/order/{allocated.pk}/release/", follow=True)

    response = admin_client.get(f"/admin/orders/order/{allocated.pk}/delete/", follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Order O1 has allocation history (released allocations) and cannot be deleted. Cancel it instead."
    ]
    assert Order.objects.filter(pk=allocated.pk).exists()


def test_the_order_page_shows_line_subtotals_and_the_order_total(admin_client, widget_example):
    o1 = widget_example["orders"]["O1"]
    o1.lines.update(unit_price=Decimal("25.05"))  # 120 × 25.05

    page = admin_client.get(f"/admin/orders/order/{o1.pk}/change/").content.decode()

    assert "3,006" in page  # the line's subtotal and the order's total, in yen
    assert page.count("3,006") >= 2


def test_a_release_needs_the_run_permission(client, django_user_model, allocated):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order"]))
    client.force_login(clerk)

    assert client.post(f"/admin/orders/order/{allocated.pk}/release/").status_code == 403
    assert 'name="release"' not in client.get(f"/admin/orders/order/{allocated.pk}/change/").content.decode()
    assert Order.objects.get(pk=allocated.pk).status == OrderStatus.ALLOCATED
