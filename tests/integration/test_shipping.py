"""Shipping: allocated units leave the warehouse through `order_ship`, whichever door they take.

The worked example of ALLOCATION.md allocated by FIFO at 2026-01-25: O1 (120 WIDGET) holds L1 100 and
L2 20, O2 (60 WIDGET) holds L2 30 and L3 30.
"""
from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.test import Client

from allocation.domain import Conflict, InvalidInput
from allocation.models import AllocationResult, Event, EventType, Shipment, ShipmentPick
from allocation.services import allocation_release, allocation_run, order_cancel
from allocation.shipping import order_ship
from orders.models import Order, OrderLine, OrderStatus
from stock.models import Lot
from tests.admin_support import list_page
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API, client_for, user_in
from tests.factories import ItemFactory, LotFactory, order_with_lines
from tests.threads import at_once

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 1, 25)


@pytest.fixture
def allocated(widget_example):
    allocation_run(method="FIFO", as_of=AS_OF)
    o1, o2 = (Order.objects.get(pk=widget_example["orders"][n].pk) for n in ("O1", "O2"))
    return {**widget_example, "o1": o1, "o2": o2, "line1": o1.lines.get(), "line2": o2.lines.get()}


def lots() -> dict[str, tuple[int, int, int, int]]:
    """Return (quantity, allocated, shipped, on hand) per lot reference."""
    return {lot.reference: (lot.quantity, lot.allocated_quantity, lot.shipped_quantity, lot.on_hand_quantity)
            for lot in Lot.objects.all()}


def picks(number: str) -> list[tuple[str, int, int]]:
    """Return (lot, allocated, shipped) of the order's active picks, by id."""
    return list(AllocationResult.objects.active().filter(order__order_number=number).order_by("id")
                .values_list("lot__reference", "allocated_quantity", "shipped_quantity"))


def status(number: str) -> str:
    return Order.objects.get(order_number=number).status


def snapshot() -> dict:
    """Return every row shipping could write (orders, lines, results, lots, shipments, events)."""
    return {model.__name__: sorted(map(str, model.objects.values_list())) for model in
            (Order, OrderLine, AllocationResult, Lot, Shipment, ShipmentPick, Event)}


def assert_books_hold() -> None:
    """Per line shipped ≤ allocated ≤ ordered; per lot the stored figures are the sums of its active picks, and
    quantity is conserved (available + allocated = quantity, on hand + shipped = quantity)."""
    active = AllocationResult.objects.active()
    per_line = {line: (a, s) for line, a, s in active.values_list("order_line_id").annotate(
        a=Sum("allocated_quantity"), s=Sum("shipped_quantity")).order_by()}
    for line_id, ordered in OrderLine.objects.values_list("id", "quantity"):
        allocated, shipped = per_line.get(line_id, (0, 0))
        assert 0 <= shipped <= allocated <= ordered, f"line {line_id}"
    per_lot = {lot: (a, s) for lot, a, s in active.values_list("lot_id").annotate(
        a=Sum("allocated_quantity"), s=Sum("shipped_quantity")).order_by()}
    for lot in Lot.objects.all():
        assert (lot.allocated_quantity, lot.shipped_quantity) == per_lot.get(lot.pk, (0, 0)), lot.reference
        assert lot.available_quantity + lot.allocated_quantity == lot.quantity
        assert lot.on_hand_quantity + lot.shipped_quantity == lot.quantity
    shipped = ShipmentPick.objects.aggregate(q=Sum("quantity"))["q"] or 0
    assert shipped == (active.aggregate(q=Sum("shipped_quantity"))["q"] or 0)


# --- the service --------------------------------------------------------------------------------------

def test_shipping_everything_ships_every_pick_and_the_order_is_shipped(allocated, django_user_model):
    # given
    user = django_user_model.objects.create_user("picker")
    # when
    report = order_ship(order=allocated["o1"], user=user)
    # then
    assert (report.quantity, report.status, report.shipment.shipped_by) == (120, OrderStatus.SHIPPED, user)
    assert status("O1") == OrderStatus.SHIPPED and status("O2") == OrderStatus.ALLOCATED
    assert picks("O1") == [("L1", 100, 100), ("L2", 20, 20)]
    assert lots() == {"L1": (100, 100, 100, 0), "L2": (50, 50, 20, 30), "L3": (100, 30, 0, 100), "L4": (200, 0, 0, 200)}
    shipment = Shipment.objects.get()
    assert (shipment.order_id, shipment.quantity, shipment.reference) == (allocated["o1"].pk, 120, "")
    assert sorted(shipment.picks.values_list("result__lot__reference", "quantity")) == [("L1", 100), ("L2", 20)]
    assert_books_hold()


def test_part_of_a_line_ships_from_its_picks_in_id_order_then_the_rest_ships(allocated):
    line = allocated["line1"]
    # when: 110 of the 120 (all of L1's pick, 10 of L2's)
    first = order_ship(order=allocated["o1"].pk, lines=[{"line": line.pk, "quantity": 110}])
    # then: the L2 pick is partly shipped and the order partly
    assert (first.quantity, first.status) == (110, OrderStatus.PARTIALLY_SHIPPED)
    assert picks("O1") == [("L1", 100, 100), ("L2", 20, 10)]
    assert lots()["L2"] == (50, 50, 10, 40)
    # when: the line's rest (no quantity: all it holds not shipped)
    rest = order_ship(order=allocated["o1"].pk, lines=[{"line": line.pk}])
    # then
    assert (rest.quantity, rest.status, status("O1")) == (10, OrderStatus.SHIPPED, OrderStatus.SHIPPED)
    assert [(p["lot_reference"], p["quantity"]) for p in rest.lines[0]["picks"]] == [("L2", 10)]
    assert picks("O1") == [("L1", 100, 100), ("L2", 20, 20)]
    assert Shipment.objects.count() == 2
    assert_books_hold()


def test_an_order_is_partly_shipped_until_every_line_is_fully_shipped(widget_example):
    # given: O3 orders 10 WIDGET and 5 GADGET, both allocated
    gadget = ItemFactory(item_code="GADGET")
    LotFactory(reference="G1", item=gadget, quantity=5, received_on=date(2026, 1, 2))
    o3 = order_with_lines("O3", date(2026, 1, 3), (widget_example["item"], 10), (gadget, 5))
    allocation_run(method="FIFO", orders=[o3], as_of=AS_OF)
    widget_line, gadget_line = o3.lines.order_by("id")
    # when: the gadgets ship
    order_ship(order=o3, lines=[{"line": gadget_line.pk}])
    # then
    assert status("O3") == OrderStatus.PARTIALLY_SHIPPED
    # when: the widgets ship
    order_ship(order=o3, lines=[{"line": widget_line.pk, "quantity": 10}])
    # then
    assert status("O3") == OrderStatus.SHIPPED
    assert_books_hold()


def test_an_order_partly_allocated_and_fully_shipped_so_far_is_partly_shipped(widget_example):
    # given: O1 wants 120 of the 50 WIDGET in stock
    Lot.objects.exclude(reference="L2").delete()
    allocation_run(method="FIFO", orders=[widget_example["orders"]["O1"]], as_of=AS_OF, allow_inbound=False)
    # when
    report = order_ship(order=widget_example["orders"]["O1"])
    # then: 50 of 120 shipped, the rest may still be allocated by a later run
    assert (report.quantity, report.status) == (50, OrderStatus.PARTIALLY_SHIPPED)
    assert_books_hold()


def test_shipped_picks_are_never_released_and_the_rest_is(allocated):
    # given: O1's L1 pick ships whole, its L2 pick does not ship
    order_ship(order=allocated["o1"], lines=[{"line": allocated["line1"].pk, "quantity": 100}])
    l1_pick = AllocationResult.objects.get(order__order_number="O1", lot__reference="L1")
    # when: a release of the order
    report = allocation_release(order=allocated["o1"])
    # then: it gives back L2's 20 only; the shipped pick stays
    assert (report.released, report.quantity) == (1, 20)
    assert picks("O1") == [("L1", 100, 100)]
    assert status("O1") == OrderStatus.PARTIALLY_SHIPPED
    assert lots()["L1"] == (100, 100, 100, 0) and lots()["L2"] == (50, 30, 0, 50)
    # and naming the shipped pick is a 409, which changes nothing
    before = snapshot()
    with pytest.raises(Conflict, match="shipped; a shipped pick cannot be released"):
        allocation_release(results=[l1_pick.pk])
    assert snapshot() == before
    assert_books_hold()


def test_a_partly_shipped_pick_is_not_released_either(allocated):
    order_ship(order=allocated["o1"], lines=[{"line": allocated["line1"].pk, "quantity": 110}])
    report = allocation_release(order=allocated["o1"])
    assert (report.released, report.quantity) == (0, 0)
    assert picks("O1") == [("L1", 100, 100), ("L2", 20, 10)]


def test_an_order_with_shipped_goods_cannot_be_cancelled_and_nothing_changes(allocated):
    order_ship(order=allocated["o1"], lines=[{"line": allocated["line1"].pk, "quantity": 1}])
    before = snapshot()
    with pytest.raises(Conflict, match="Order O1 has shipped goods and cannot be cancelled"):
        order_cancel(order=allocated["o1"])
    assert snapshot() == before


@pytest.mark.parametrize(("asked", "message"), [
    (None, "Order O2 has nothing allocated and not shipped."),
    ("all", "Order O2 cannot ship that: line {line} (WIDGET): nothing allocated and not shipped."),
    (5, "Order O2 cannot ship that: line {line} (WIDGET): 0 allocated and not shipped, 5 asked."),
])
def test_shipping_what_is_not_allocated_is_a_409_naming_the_line_and_changes_nothing(widget_example, asked, message):
    # given: only O1 is allocated
    allocation_run(method="FIFO", orders=[widget_example["orders"]["O1"]], as_of=AS_OF)
    o2 = widget_example["orders"]["O2"]
    line = o2.lines.get()
    lines = None if asked is None else [{"line": line.pk} if asked == "all" else {"line": line.pk, "quantity": asked}]
    before = snapshot()
    # when
    with pytest.raises(Conflict) as refused:
        order_ship(order=o2, lines=lines)
    # then
    assert refused.value.message == message.format(line=line.pk)
    assert snapshot() == before


def test_shipping_more_than_a_line_holds_is_a_409_with_the_figures(allocated):
    line = allocated["line1"].pk
    order_ship(order=allocated["o1"], lines=[{"line": line, "quantity": 110}])
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        order_ship(order=allocated["o1"], lines=[{"line": line, "quantity": 12}])
    assert refused.value.message == f"Order O1 cannot ship that: line {line} (WIDGET): 10 allocated and not shipped, 12 asked."
    assert refused.value.data["lines"] == [{"line": line, "item_code": "WIDGET", "unshipped": 10, "asked": 12}]
    assert snapshot() == before


def test_a_reference_the_order_shipped_under_is_refused_naming_the_earlier_shipment(allocated):
    first = order_ship(order=allocated["o1"], lines=[{"line": allocated["line1"].pk, "quantity": 5}], reference="TRK-1")
    before = snapshot()
    with pytest.raises(Conflict, match=f'already shipped under reference "TRK-1": shipment {first.shipment.pk} '):
        order_ship(order=allocated["o1"], reference="TRK-1")
    assert snapshot() == before
    # another order may use the same reference
    assert order_ship(order=allocated["o2"], reference="TRK-1").quantity == 60


def test_a_line_of_another_order_is_a_400_naming_it(allocated):
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        order_ship(order=allocated["o1"], lines=[{"line": allocated["line2"].pk, "quantity": 1}])
    assert refused.value.field == "lines" and refused.value.data == {"lines": [allocated["line2"].pk]}
    assert refused.value.message == f"Line {allocated['line2'].pk} is not a line of order O1."
    assert snapshot() == before


@pytest.mark.parametrize("lines", [[], [{"line": 1, "quantity": 0}], [{"line": 1}, {"line": 1}], [{"lot": "L1"}], "1"])
def test_malformed_lines_are_a_400(allocated, lines):
    with pytest.raises(InvalidInput):
        order_ship(order=allocated["o1"], lines=lines)


def test_a_cancelled_order_does_not_ship(allocated):
    order_cancel(order=allocated["o2"])
    with pytest.raises(Conflict, match="Order O2 is cancelled"):
        order_ship(order=allocated["o2"])


def test_the_shipped_event_tells_the_lines_and_picks_with_the_orders_next_sequence(allocated):
    # given: O1 has one event so far (allocation.allocated)
    assert Order.objects.get(pk=allocated["o1"].pk).event_sequence == 1
    line = allocated["line1"].pk
    # when
    report = order_ship(order=allocated["o1"], lines=[{"line": line, "quantity": 110}], reference="TRK-9")
    # then
    event = Event.objects.get(type=EventType.SHIPPED)
    data = json.loads(event.data)
    assert (event.order_id, event.sequence, data["sequence"]) == (allocated["o1"].pk, 2, 2)
    assert Order.objects.get(pk=allocated["o1"].pk).event_sequence == 2
    l1, l2 = (Lot.objects.get(reference=r).pk for r in ("L1", "L2"))
    results = dict(AllocationResult.objects.filter(order=allocated["o1"]).values_list("lot__reference", "id"))
    assert {k: v for k, v in data.items() if k != "shipped_at"} == {
        "order": {"id": allocated["o1"].pk, "number": "O1"}, "sequence": 2, "status": "partially_shipped",
        "quantity": 110, "reference": "TRK-9", "shipment": report.shipment.pk,
        "lines": [{"line": line, "item_code": "WIDGET", "quantity": 110, "picks": [
            {"result": results["L1"], "lot": l1, "lot_reference": "L1", "quantity": 100, "unit_cost": "10.0000",
             "expires_on": None},
            {"result": results["L2"], "lot": l2, "lot_reference": "L2", "quantity": 10, "unit_cost": "13.0000",
             "expires_on": None}]}],
    }
    assert Event.objects.filter(type=EventType.SHIPPED).count() == 1


def test_shipping_never_changes_a_picks_cost(allocated):
    costs = list(AllocationResult.objects.order_by("id").values_list("unit_cost", "allocated_price", "cost_final"))
    order_ship(order=allocated["o1"])
    order_ship(order=allocated["o2"], lines=[{"line": allocated["line2"].pk, "quantity": 45}])
    assert list(AllocationResult.objects.order_by("id").values_list("unit_cost", "allocated_price", "cost_final")) == costs


@pytest.mark.parametrize("steps", [(1, 1, 1), (30, 29, 1), (59, 1), (7, 13, 40)])
def test_the_books_hold_after_any_mix_of_shipments_releases_and_runs(allocated, steps):
    line = allocated["line2"].pk
    for quantity in steps:
        order_ship(order=allocated["o2"], lines=[{"line": line, "quantity": quantity}])
        assert_books_hold()
    allocation_release(order=allocated["o2"])
    allocation_run(method="FIFO", as_of=AS_OF)
    assert_books_hold()
    assert AllocationResult.objects.active().filter(order=allocated["o2"]).aggregate(
        q=Sum("shipped_quantity"))["q"] == sum(steps)
    assert status("O2") == (OrderStatus.SHIPPED if sum(steps) == 60 else OrderStatus.PARTIALLY_SHIPPED)


# --- the doors ----------------------------------------------------------------------------------------

def test_the_api_ships_and_answers_the_order_with_the_shipment(allocated):
    client = client_for(user_in("warehouse"))
    line = allocated["line1"].pk
    response = client.post(f"{API}orders/{allocated['o1'].pk}/ship/",
                           {"lines": [{"line": line, "quantity": 110}], "reference": "TRK-1"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "partially_shipped"
    assert [(x["allocated_quantity"], x["shipped_quantity"]) for x in body["lines"]] == [(120, 110)]
    assert body["shipment"]["quantity"] == 110 and body["shipment"]["reference"] == "TRK-1"
    assert body["shipment"]["shipped_by"] == "warehouse-user"
    assert [(p["lot_reference"], p["quantity"]) for p in body["shipment"]["lines"][0]["picks"]] == [("L1", 100), ("L2", 10)]
    assert [(s["reference"], s["quantity"]) for s in body["shipments"]] == [("TRK-1", 110)] and body["shipments_count"] == 1
    shown = client.get(f"{API}orders/{allocated['o1'].pk}/").json()
    assert {k: v for k, v in body.items() if k != "shipment"} == shown
    lot = client.get(f"{API}lots/{Lot.objects.get(reference='L2').pk}/").json()
    assert (lot["allocated_quantity"], lot["shipped_quantity"], lot["on_hand_quantity"], lot["available_quantity"]) == (
        50, 10, 40, 0)


@pytest.mark.parametrize(("body", "code"), [
    (lambda line: {"lines": [{"line": 0}]}, 400),
    (lambda line: {"lines": [{"line": line, "quantity": "5"}]}, 400),
    (lambda line: {"carrier": "X"}, 400),
    (lambda line: {"lines": []}, 400),
    (lambda line: {"lines": [{"line": line, "quantity": 121}]}, 409),
])
def test_the_api_refuses_a_bad_request_and_changes_nothing(allocated, body, code):
    before = snapshot()
    response = client_for(user_in("allocator")).post(f"{API}orders/{allocated['o1'].pk}/ship/",
                                                     body(allocated["line1"].pk), format="json")
    assert response.status_code == code, response.json()
    assert snapshot() == before


def test_the_api_answers_a_409_with_the_lines_figures(allocated):
    line = allocated["line1"].pk
    response = client_for(user_in("allocator")).post(
        f"{API}orders/{allocated['o1'].pk}/ship/", {"lines": [{"line": line, "quantity": 121}]}, format="json")
    assert response.status_code == 409
    assert response.json()["lines"] == [{"line": line, "item_code": "WIDGET", "unshipped": 120, "asked": 121}]
    assert "120 allocated and not shipped, 121 asked" in response.json()["detail"]


@pytest.mark.parametrize("group", ["viewer", "clerk", None])
def test_only_users_who_may_ship_ship_through_the_api(allocated, group):
    response = client_for(user_in(group)).post(f"{API}orders/{allocated['o1'].pk}/ship/", {}, format="json")
    assert response.status_code == 403
    assert not Shipment.objects.exists()


def test_the_admin_action_ships_each_selected_order_and_says_which_did_not(allocated, widget_example, admin_client):
    # given: O3 holds nothing
    o3 = order_with_lines("O3", date(2026, 1, 20), (widget_example["item"], 5))
    selected = {"_selected_action": [allocated["o1"].pk, o3.pk, allocated["o2"].pk], "select_across": "0"}
    # when: the action opens its confirmation page, then the page is confirmed
    page = admin_client.post("/admin/orders/order/", {"action": "ship_orders", "index": 0, **selected})
    assert page.status_code == 200 and "3 orders selected" in page.content.decode()
    assert not Shipment.objects.exists()
    response = admin_client.post("/admin/orders/order/ship/", {"confirm": "1", **selected}, follow=True)
    # then
    texts = [str(m) for m in response.context["messages"]]
    assert texts == ["Shipped 2 orders: O1 (120 units), O2 (60 units).",
                     "Not shipped (1): Order O3 has nothing allocated and not shipped."]
    assert (status("O1"), status("O2"), status("O3")) == ("shipped", "shipped", "open")
    assert_books_hold()


def test_the_ship_button_on_the_order_page_ships_it_by_post_only(allocated, admin_client):
    url = f"/admin/orders/order/{allocated['o1'].pk}/"
    page = admin_client.get(f"{url}change/").content.decode()
    assert f'action="{url}ship/"' in page and f'href="{url}pick-list/"' in page
    assert admin_client.get(f"{url}ship/").status_code == 302 and not Shipment.objects.exists()
    response = admin_client.post(f"{url}ship/", follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        f"Shipped 120 units of order O1 (shipment #{Shipment.objects.get().pk}); it is now shipped."]
    # then the page offers neither ship nor release any more (shipped picks are never released), and says why
    page = response.content.decode()
    assert f'action="{url}ship/"' not in page and f'action="{url}release/"' not in page
    assert "120 of these units have shipped: they are never released" in page


def test_the_ship_button_needs_the_permission_and_a_csrf_token(allocated, django_user_model):
    url = f"/admin/orders/order/{allocated['o1'].pk}/ship/"
    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order"]))
    client = Client(enforce_csrf_checks=True)
    client.force_login(clerk)
    assert client.post(url).status_code == 403  # no CSRF token
    assert Client().post(url).status_code == 302  # not signed in: to the login page
    signed_in = Client()
    signed_in.force_login(clerk)
    assert signed_in.post(url).status_code == 403  # no allocation.ship_order
    assert "ship_orders" not in signed_in.get("/admin/orders/order/").content.decode()
    assert not Shipment.objects.exists()


def test_a_refusal_on_the_order_page_is_a_message_and_changes_nothing(allocated, admin_client):
    order_ship(order=allocated["o1"])
    before = snapshot()
    response = admin_client.post(f"/admin/orders/order/{allocated['o1'].pk}/ship/", follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Refused: Order O1 has nothing allocated and not shipped."]
    assert snapshot() == before


def test_the_command_ships_lines_and_refuses_in_words(allocated):
    line = allocated["line1"].pk
    out = StringIO()
    call_command("ship", "O1", "--line", f"{line}:110", "--reference", "TRK-1", stdout=out)
    assert out.getvalue().splitlines() == [
        f"Shipped 110 units of order O1 (shipment #{Shipment.objects.get().pk}); status partially_shipped.",
        f"  line {line} WIDGET: 110 (L1 100, L2 10)"]
    before = snapshot()
    with pytest.raises(CommandError, match="10 allocated and not shipped, 11 asked"):
        call_command("ship", "O1", "--line", f"{line}:11", stdout=StringIO())
    with pytest.raises(CommandError, match='already shipped under reference "TRK-1"'):
        call_command("ship", "O1", "--reference", "TRK-1", stdout=StringIO())
    with pytest.raises(CommandError, match='No order "O9"'):
        call_command("ship", "O9", stdout=StringIO())
    assert snapshot() == before
    call_command("ship", "O1", stdout=StringIO())
    assert status("O1") == OrderStatus.SHIPPED


def test_the_lots_list_shows_on_hand_and_a_lots_page_shipped_and_on_hand(allocated, admin_client):
    order_ship(order=allocated["o1"], lines=[{"line": allocated["line1"].pk, "quantity": 110}])
    l2 = Lot.objects.get(reference="L2")
    listing = list_page(admin_client.get("/admin/stock/lot/"))
    # (shipped is quantity less on hand: not a column, so that every column shows at 1,366 px)
    assert '<td class="field-on_hand">40</td>' in listing and "field-shipped_quantity" not in listing
    page = admin_client.get(f"/admin/stock/lot/{l2.pk}/change/").content.decode()
    assert ">Shipped quantity</label>" in page and ">On hand</label>" in page


# --- queries ------------------------------------------------------------------------------------------

def order_of(lines: int, number: str):
    item = ItemFactory(item_code=f"BOLT-{number}")
    LotFactory(reference=f"B-{number}-1", item=item, quantity=lines, received_on=date(2026, 1, 2))
    LotFactory(reference=f"B-{number}-2", item=item, quantity=lines * 2, received_on=date(2026, 1, 3))
    order = order_with_lines(number, date(2026, 1, 4), *[(item, 2)] * lines)  # half the lines from each lot
    allocation_run(method="FIFO", orders=[order], as_of=AS_OF)
    return order


def test_shipping_runs_as_many_queries_for_40_lines_as_for_2(db, django_assert_max_num_queries):
    # given
    small, big = order_of(2, "S"), order_of(40, "B")
    with django_assert_max_num_queries(30) as counted:
        order_ship(order=small, reference="R1")
    # when / then: the same number, whatever the lines
    with django_assert_max_num_queries(len(counted.captured_queries)):
        report = order_ship(order=big, reference="R1")
    assert report.quantity == 80 and status("B") == OrderStatus.SHIPPED


def test_the_api_ship_runs_a_fixed_number_of_queries(db, django_assert_max_num_queries):
    small, big = order_of(2, "S"), order_of(40, "B")
    client = client_for(user_in("allocator"))
    with django_assert_max_num_queries(40) as counted:
        assert client.post(f"{API}orders/{small.pk}/ship/", {}, format="json").status_code == 200
    with django_assert_max_num_queries(len(counted.captured_queries)):
        assert client.post(f"{API}orders/{big.pk}/ship/", {}, format="json").status_code == 200


# --- concurrency (PostgreSQL) -----------------------------------------------------------------------------

def test_concurrent_shipments_releases_and_retried_callbacks_never_ship_twice(transactional_db, widget_example):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks and real concurrency need PostgreSQL")
    # given: both orders allocated
    allocation_run(method="FIFO", as_of=AS_OF)
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    line1, line2 = o1.lines.get().pk, o2.lines.get().pk
    # when: a warehouse calls back three times for the same shipment of O1, while O2 ships 30 twice and is released
    errors = at_once([
        *[lambda: order_ship(order=o1.pk, reference="TRK-1") for _ in range(3)],
        *[lambda: order_ship(order=o2.pk, lines=[{"line": line2, "quantity": 30}]) for _ in range(2)],
        lambda: allocation_release(order=o2.pk),
    ])
    # then: O1 shipped once; O2 shipped what it held when each call came, never more than was allocated
    assert [error for error in errors if not isinstance(error, Conflict)] == []
    assert sum('already shipped under reference "TRK-1"' in error.message for error in errors) == 2
    assert Shipment.objects.filter(order=o1, reference="TRK-1").count() == 1 and status("O1") == OrderStatus.SHIPPED
    assert AllocationResult.objects.active().filter(order_line_id=line1).aggregate(q=Sum("shipped_quantity"))["q"] == 120
    assert Shipment.objects.filter(order=o2).aggregate(q=Sum("quantity"))["q"] in (None, 30, 60)
    assert_books_hold()
