"""Every write is in the history, whichever door made it: the admin's History page and Recent actions show it."""
import io
from datetime import date

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.core.management import call_command

from allocation.models import AllocationRun
from allocation.services import allocation_release, allocation_run, order_cancel
from allocation.shipping import order_ship
from orders.models import Order
from stock.models import Lot
from tests.api_support import API, client_for, user_in
from tests.integration.test_admin_order_page import current_lines, order_form

JAN_25 = date(2026, 1, 25)


def entries(obj) -> list[tuple[int, str, str]]:
    """(action, user, message as the admin shows it) of an object's history, oldest first."""
    return [(e.action_flag, e.user.username, e.get_change_message()) for e in
            LogEntry.objects.filter(object_id=str(obj.pk), content_type__model=obj._meta.model_name).order_by("id")]


def test_a_lot_changed_through_the_api_shows_on_its_history_page_with_who_and_what(admin_client, widget_example):
    lot = widget_example["lots"]["L4"]
    clerk = user_in("clerk", "carol")
    response = client_for(clerk).patch(f"{API}lots/{lot.pk}/", {"quantity": 180, "note": "recount"}, format="json")
    assert response.status_code == 200
    assert entries(lot) == [(CHANGE, "carol", "Changed quantity and note.")]
    page = admin_client.get(f"/admin/stock/lot/{lot.pk}/history/").content.decode()
    assert "carol" in page and "Changed quantity and note." in page


def test_an_admin_edit_is_entered_once_and_an_unchanged_save_not_at_all(admin_client, admin_user, widget_example):
    lot = widget_example["lots"]["L4"]
    form = {"reference": "L4", "item": lot.item_id, "quantity": 200, "unit_cost": "12.0000", "received_on": "",
            "eta": "2026-02-10", "expires_on": "", "note": ""}
    assert admin_client.post(f"/admin/stock/lot/{lot.pk}/change/", form).status_code == 302
    assert entries(lot) == []
    response = admin_client.post(f"/admin/stock/lot/{lot.pk}/change/", {**form, "quantity": 210})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert entries(lot) == [(CHANGE, admin_user.username, "Changed quantity.")]


def test_creating_and_deleting_are_entered_and_the_deleted_object_keeps_its_name(admin_client, admin_user,
                                                                               widget_example):
    item = widget_example["item"]
    response = admin_client.post("/admin/stock/lot/add/", {"reference": "L9", "item": item.pk, "quantity": 5,
                                                           "unit_cost": "1.0000", "received_on": "2026-01-02"})
    assert response.status_code == 302
    lot = Lot.objects.get(reference="L9")
    admin_client.post(f"/admin/stock/lot/{lot.pk}/delete/", {"post": "yes"})
    assert [(action, user) for action, user, _ in entries(lot)] == [(ADDITION, admin_user.username),
                                                                   (DELETION, admin_user.username)]
    assert LogEntry.objects.filter(object_id=str(lot.pk), action_flag=DELETION).get().object_repr == "L9"


def test_runs_releases_cancels_and_shipments_are_in_the_history_of_the_run_and_the_orders(widget_example,
                                                                                        admin_user):
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    run = allocation_run(method="FIFO", as_of=JAN_25, user=admin_user).run
    shipment = order_ship(order=o1, reference="TRK-1", user=admin_user).shipment
    allocation_release(order=o2, user=admin_user)
    order_cancel(order=o2, user=admin_user)
    # one entry for the run, not one per result
    assert entries(run) == [(ADDITION, admin_user.username, "Allocated 180 units to 2 orders: 2 fully, 0 partly, 0 not.")]
    assert entries(o1) == [(CHANGE, admin_user.username, f"Shipped 120 units (shipment {shipment.pk}, reference TRK-1).")]
    assert entries(o2) == [(CHANGE, admin_user.username, "Released 60 units."),
                           (CHANGE, admin_user.username, "Cancelled; released 0 units.")]


def test_a_change_made_by_a_command_is_entered_under_the_system_user(widget_example):
    call_command("allocate", "--method", "FIFO", "--as-of", "2026-01-25", stdout=io.StringIO())
    run = AllocationRun.objects.get()
    assert [(action, user) for action, user, _ in entries(run)] == [(ADDITION, "system")]
    assert not LogEntry.objects.get().user.is_active  # "system" cannot log in


def test_recent_actions_on_the_index_list_a_run_made_from_the_admin(admin_client, admin_user, widget_example):
    o1 = widget_example["orders"]["O1"]
    admin_client.post("/admin/orders/order/allocate/", {
        "method": "FIFO", "policy": "order_date", "as_of": "2026-01-25", "allow_partial": "on", "allow_inbound": "on",
        "allocate": "1", "_selected_action": [o1.pk], "select_across": "0"})
    page = admin_client.get("/admin/").content.decode()
    run = AllocationRun.objects.get()
    assert f"/admin/allocation/allocationrun/{run.pk}/change/" in page.split("recent-actions-module")[1]
    assert Order.objects.get(pk=o1.pk).status == "allocated"


@pytest.mark.parametrize("door", ["admin", "api"])
def test_an_order_changed_through_any_door_says_its_lines_changed(door, admin_client, admin_user, widget_example):
    o1 = widget_example["orders"]["O1"]
    line = o1.lines.get()
    if door == "api":
        response = client_for(admin_user).patch(f"{API}orders/{o1.pk}/", {
            "lines": [{"id": line.pk, "item_code": "WIDGET", "quantity": 130}]}, format="json")
        assert response.status_code == 200, response.content
    else:
        lines = current_lines(o1)
        lines[0]["quantity"] = 130
        response = admin_client.post(f"/admin/orders/order/{o1.pk}/change/", order_form(o1, lines))
        assert response.status_code == 302
    assert [message for _, _, message in entries(o1)] == ["Changed order lines."]


def test_saving_an_order_page_without_a_change_enters_nothing(admin_client, widget_example):
    o1 = widget_example["orders"]["O1"]
    response = admin_client.post(f"/admin/orders/order/{o1.pk}/change/", order_form(o1, current_lines(o1)))
    assert response.status_code == 302
    assert entries(o1) == []


def test_a_lot_imported_from_a_file_is_entered_under_the_clerk_who_imported_it(admin_client, admin_user, db):
    from tests.factories import ItemFactory
    from tests.integration.test_admin_import_export import confirm, upload

    ItemFactory(item_code="WIDGET")
    csv = b"reference,item_code,quantity,unit_cost,received_on,eta,expires_on,note\nL7,WIDGET,5,1.0000,2026-01-05,,,\n"
    confirm(admin_client, "stock/lot", upload(admin_client, "stock/lot", "lots.csv", csv))
    assert entries(Lot.objects.get(reference="L7")) == [(ADDITION, admin_user.username, "Added.")]


@pytest.mark.parametrize("door", ["admin", "api"])
def test_rotating_a_webhook_secret_is_entered_once_whichever_door(door, admin_client, admin_user, db):
    from allocation.webhooks import WEBHOOK_WRITES

    endpoint = WEBHOOK_WRITES.create(url="http://127.0.0.1:9/hook", user=admin_user)  # as the admin and API create
    if door == "admin":
        response = admin_client.post(f"/admin/allocation/webhookendpoint/{endpoint.pk}/rotate/")
        assert response.status_code == 302
    else:
        assert client_for(admin_user).post(f"{API}webhooks/{endpoint.pk}/rotate/", {}, format="json").status_code == 200
    assert [message for _, _, message in entries(endpoint)] == ["Added.", "Rotated the signing secret."]
