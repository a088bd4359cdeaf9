"""The allocation actions on the orders list, through Django's test client."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from allocation.models import AllocationResult, AllocationRun, ClosedPeriod
from allocation.services import allocation_run
from orders.models import Order, OrderStatus
from stock.models import Lot
from tests.factories import ItemFactory, LotFactory, order_with_lines

CHANGELIST = "/admin/orders/order/"
PARAMETERS = {"method": "FIFO", "policy": "order_date", "as_of": "2026-01-25", "allow_partial": "on", "allow_inbound": "on"}


def selection(*orders: Order) -> dict:
    return {"_selected_action": [o.pk for o in orders], "select_across": "0"}


@pytest.fixture
def staff_without_run_permission(django_user_model):
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order", "view_closedperiod"]))
    return user


def test_the_allocate_action_opens_a_page_with_the_parameters_and_the_selected_orders(admin_client, widget_example):
    # given
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    # when
    response = admin_client.post(CHANGELIST, {"action": "allocate_orders", "index": 0, **selection(o1, o2)})
    # then
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="method"' in page and 'name="policy"' in page and 'name="as_of"' in page
    assert 'name="allow_partial"' in page and 'name="allow_inbound"' in page
    assert "O1" in page and "O2" in page and "2 orders selected" in page
    assert 'name="preview"' in page and 'name="allocate"' in page


def test_preview_shows_every_pick_with_lot_cost_and_amount_and_writes_nothing(admin_client, widget_example):
    # given
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    # when
    response = admin_client.post("/admin/orders/order/allocate/", {**PARAMETERS, "preview": "1", **selection(o1, o2)})
    # then
    assert response.status_code == 200
    picks = [(p["order"], p["lot"], p["quantity"], p["unit_cost"], p["amount"]) for p in response.context["preview"]["picks"]]
    assert picks == [
        ("O1", "L1", 100, Decimal("10.0000"), Decimal("1000.00")),
        ("O1", "L2", 20, Decimal("13.0000"), Decimal("260.00")),
        ("O2", "L2", 30, Decimal("13.0000"), Decimal("390.00")),
        ("O2", "L3", 30, Decimal("11.5000"), Decimal("345.00")),
    ]
    totals = {o["order_number"]: o["amount"] for o in response.context["preview"]["outcomes"]}
    assert totals == {"O1": "1260.00", "O2": "735.00"}
    assert "1,260" in response.content.decode()  # money in the currency's decimals (JPY: none)
    assert AllocationRun.objects.count() == 0 and AllocationResult.objects.count() == 0


def test_preview_lists_every_shortfall(admin_client, widget_example):
    # given: O3 wants more than the in-stock lots hold and inbound lots are not allowed
    widget = widget_example["item"]
    o3 = order_with_lines("O3", date(2026, 1, 7), (widget, 400))
    data = {**PARAMETERS, "preview": "1", **selection(o3)}
    del data["allow_inbound"]
    # when
    response = admin_client.post("/admin/orders/order/allocate/", data)
    # then
    outcome = response.context["preview"]["outcomes"][0]
    assert outcome["status"] == "partial"
    assert outcome["shortfalls"][0]["item_code"] == "WIDGET" and outcome["shortfalls"][0]["short"] == 150
    assert "WIDGET: 150 short of 400" in response.content.decode()


@pytest.fixture
def scarce_widget(db):
    """ALLOCATION.md, policy fair_share: lots of WIDGET give 100; O1 asks 120, O2 60, O3 20."""
    widget = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=widget, received_on=date(2026, 1, 5), quantity=100, unit_cost=Decimal("10"))
    return [order_with_lines(n, date(2026, 1, d), (widget, q)) for n, d, q in (("O1", 6, 120), ("O2", 12, 60), ("O3", 13, 20))]


def test_a_fair_share_preview_shows_each_lines_quota(admin_client, scarce_widget):
    response = admin_client.post("/admin/orders/order/allocate/",
                                 {**PARAMETERS, "policy": "fair_share", "preview": "1", **selection(*scarce_widget)})
    picks = [(p["order"], p["quantity"]) for p in response.context["preview"]["picks"]]
    assert picks == [("O1", 60), ("O2", 30), ("O3", 10)]
    page = response.content.decode()
    assert "WIDGET: 30 of 60 asked, fair share of 100 for 200" in page
    assert AllocationRun.objects.count() == 0


def test_fair_share_without_partial_allocation_is_refused_on_the_page(admin_client, scarce_widget):
    data = {**PARAMETERS, "policy": "fair_share", "allocate": "1", **selection(*scarce_widget)}
    del data["allow_partial"]
    response = admin_client.post("/admin/orders/order/allocate/", data)
    assert response.status_code == 200
    assert "needs allow_partial" in response.content.decode()
    assert AllocationRun.objects.count() == 0


def test_allocate_writes_the_run_and_links_to_it_in_the_message(admin_client, admin_user, widget_example):
    # given
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    # when
    response = admin_client.post("/admin/orders/order/allocate/", {**PARAMETERS, "allocate": "1", **selection(o1, o2)},
                                 follow=True)
    # then
    run = AllocationRun.objects.get()
    assert run.started_by == admin_user and run.method == "FIFO" and run.allocated_amount == Decimal("1995.00")
    message = str(list(response.context["messages"])[0])
    assert f"run #{run.pk}" in message and "2 fully allocated" in message
    assert f'href="/admin/allocation/allocationrun/{run.pk}/change/"' in message
    assert Order.objects.get(pk=o1.pk).status == OrderStatus.ALLOCATED


def test_select_all_allocates_every_order_of_the_filtered_list(admin_client, widget_example):
    # given: "select all" on the list filtered to open orders, with one order already allocated
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    allocation_run(method="FIFO", orders=[o1], as_of=date(2026, 1, 25))
    # when
    response = admin_client.post(
        "/admin/orders/order/allocate/?status__exact=open",
        {**PARAMETERS, "allocate": "1", "_selected_action": [o2.pk], "select_across": "1"},
    )
    # then
    assert response.status_code == 302 and response["Location"].endswith("?status__exact=open")
    run = AllocationRun.objects.order_by("-id").first()
    assert run.requested_orders == [o2.pk] and run.orders_fully_allocated == 1


@pytest.mark.parametrize("as_of, expected", [
    ("2026-01-25", "Period 2026-01 is closed"),
    ((timezone.localdate() + timedelta(days=2)).isoformat(), "cannot be in the future"),
])
def test_a_domain_error_is_shown_as_an_admin_error_message_not_a_500(admin_client, widget_example, as_of, expected):
    # given
    ClosedPeriod.objects.create(start=date(2026, 1, 1), end=date(2026, 1, 31))
    o1 = widget_example["orders"]["O1"]
    # when
    response = admin_client.post("/admin/orders/order/allocate/", {**PARAMETERS, "as_of": as_of, "allocate": "1",
                                                                   **selection(o1)})
    # then
    assert response.status_code == 200
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1 and expected in errors[0]
    assert AllocationRun.objects.count() == 0


def test_one_order_that_cannot_be_filled_without_partial_shows_its_shortfall(admin_client, widget_example):
    widget = widget_example["item"]
    o3 = order_with_lines("O3", date(2026, 1, 7), (widget, 1000))
    data = {**PARAMETERS, "allocate": "1", **selection(o3)}
    del data["allow_partial"]

    response = admin_client.post("/admin/orders/order/allocate/", data)

    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    # in a clerk's words: the order number, the item code and quantities, never a line id
    assert errors == ["Refused: order O3 cannot be filled in full (WIDGET short 550 of 1000); nothing was allocated."]
    assert AllocationResult.objects.count() == 0


def test_release_asks_for_confirmation_then_releases(admin_client, widget_example):
    # given
    o1 = widget_example["orders"]["O1"]
    allocation_run(method="FIFO", orders=[o1], as_of=date(2026, 1, 25))
    # when: the action shows a confirmation page first
    page = admin_client.post(CHANGELIST, {"action": "release_allocations", "index": 0, **selection(o1)})
    assert page.status_code == 200 and 'name="confirm"' in page.content.decode()
    assert AllocationResult.objects.active().count() == 2
    response = admin_client.post("/admin/orders/order/release/", {"confirm": "1", **selection(o1)}, follow=True)
    # then
    assert AllocationResult.objects.active().count() == 0
    assert Lot.objects.get(reference="L1").allocated_quantity == 0
    assert "Released 2 allocation results (120 units)" in str(list(response.context["messages"])[0])
    assert Order.objects.get(pk=o1.pk).status == OrderStatus.OPEN


def test_cancel_asks_for_confirmation_then_cancels_and_releases(admin_client, widget_example):
    # given
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    allocation_run(method="FIFO", orders=[o1], as_of=date(2026, 1, 25))
    # when
    page = admin_client.post(CHANGELIST, {"action": "cancel_orders", "index": 0, **selection(o1, o2)})
    assert page.status_code == 200 and "Cancel these orders?" in page.content.decode()
    response = admin_client.post("/admin/orders/order/cancel/", {"confirm": "1", **selection(o1, o2)}, follow=True)
    # then
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    assert AllocationResult.objects.active().count() == 0
    assert "Cancelled 2 orders" in str(list(response.context["messages"])[0])


def test_staff_without_run_allocation_sees_no_actions_and_gets_403_on_the_pages(client, staff_without_run_permission,
                                                                               widget_example):
    # given
    client.force_login(staff_without_run_permission)
    o1 = widget_example["orders"]["O1"]
    # when
    changelist = client.get(CHANGELIST)
    # then
    assert changelist.status_code == 200
    page = changelist.content.decode()
    assert "allocate_orders" not in page and "release_allocations" not in page and "cancel_orders" not in page
    for url in ("/admin/orders/order/allocate/", "/admin/orders/order/release/", "/admin/orders/order/cancel/"):
        assert client.post(url, {**PARAMETERS, "allocate": "1", "confirm": "1", **selection(o1)}).status_code == 403
    assert client.get("/admin/allocation/closedperiod/close/").status_code == 403
    # posting the action by hand does nothing either
    client.post(CHANGELIST, {"action": "allocate_orders", "index": 0, **selection(o1)})
    assert AllocationRun.objects.count() == 0


def test_staff_with_run_allocation_gets_the_actions(client, staff_without_run_permission, widget_example):
    staff_without_run_permission.user_permissions.add(Permission.objects.get(codename="run_allocation"))
    client.force_login(staff_without_run_permission)

    page = client.get(CHANGELIST).content.decode()

    assert 'value="allocate_orders"' in page and 'value="cancel_orders"' in page


def test_allocating_1000_orders_through_the_action_runs_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries,
):
    # given: 1,000 orders of one line each and enough stock
    item = ItemFactory(item_code="BOLT")
    LotFactory(reference="B1", item=item, quantity=5000, received_on=date(2026, 1, 2))
    orders = Order.objects.bulk_create(Order(order_number=f"B{n:04d}", order_date=date(2026, 1, 3)) for n in range(1000))
    from orders.models import OrderLine
    OrderLine.objects.bulk_create(OrderLine(order=o, item=item, quantity=2, unit_price=1) for o in orders)
    # when: "select all" posts one visible id and select_across
    with django_assert_max_num_queries(25):  # 16 today: the service batches
        response = admin_client.post(CHANGELIST.replace("order/", "order/allocate/"), {
            **PARAMETERS, "allocate": "1", "_selected_action": [orders[0].pk], "select_across": "1",
        })
    # then
    assert response.status_code == 302
    run = AllocationRun.objects.get()
    assert run.orders_fully_allocated == 1000 and run.allocated_quantity == 2000
    assert Lot.objects.get(reference="B1").allocated_quantity == 2000


def test_a_big_run_off_lambda_runs_in_the_request_and_says_what_it_did(
    transactional_db, admin_client, widget_example, settings,
):
    # given: a threshold below the selection, so the run goes through allocation.tasks (handed over on commit,
    # hence a transactional test: commits happen as in production)
    settings.ALLOCATION_ASYNC_THRESHOLD = 1
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    # when
    response = admin_client.post("/admin/orders/order/allocate/", {**PARAMETERS, "allocate": "1", **selection(o1, o2)},
                                 follow=True)
    # then
    run = AllocationRun.objects.get()
    message = str(list(response.context["messages"])[0])
    assert run.status == "done" and f"run #{run.pk} done" in message and "2 fully allocated" in message


@pytest.mark.parametrize("url", ["/admin/orders/order/allocate/", "/admin/orders/order/release/", "/admin/orders/order/cancel/"])
def test_posting_no_orders_or_a_stale_filter_changes_nothing_and_says_so(admin_client, widget_example, url):
    # when: "select all" with a filter on a field that does not exist, and a selection of nothing
    stale = admin_client.post(url + "?nonsense__exact=1", {**PARAMETERS, "allocate": "1", "confirm": "1",
                                                            "_selected_action": ["1"], "select_across": "1"}, follow=True)
    empty = admin_client.post(url, {**PARAMETERS, "allocate": "1", "confirm": "1", "_selected_action": ["x"]}, follow=True)
    # then
    for response in (stale, empty):
        assert response.status_code == 200
        assert [str(m) for m in response.context["messages"]] == ["No orders are selected; nothing was changed."]
    assert AllocationRun.objects.count() == 0
    assert not Order.objects.filter(status=OrderStatus.CANCELLED).exists()

