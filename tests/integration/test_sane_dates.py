"""A date outside 2000-01-01..2100-12-31 is a typing mistake: a form error or a 400 at every door, never a 500."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from allocation.domain import InvalidInput
from allocation.models import AllocationRun
from allocation.services import allocation_run
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API

OUT_OF_RANGE = "Enter a date between 2000-01-01 and 2100-12-31."


@pytest.mark.parametrize("as_of", ["0001-01-01", "1999-12-31"])
def test_the_admin_allocate_page_refuses_a_date_out_of_range_with_a_form_error(admin_client, widget_example, as_of):
    # given: the customer score policy, whose 90-day payment window overflowed before year 1
    o1 = widget_example["orders"]["O1"]
    # when
    response = admin_client.post("/admin/orders/order/allocate/", {
        "method": "FIFO", "policy": "customer_score", "as_of": as_of, "allow_partial": "on", "allow_inbound": "on",
        "preview": "1", "_selected_action": [o1.pk], "select_across": "0"})
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["as_of"] == [OUT_OF_RANGE]
    assert not AllocationRun.objects.exists()


def test_the_api_refuses_an_allocation_date_out_of_range(allocator, widget_example):
    response = allocator.post(f"{API}allocate/", {"method": "FIFO", "policy": "customer_score", "as_of": "0001-01-01"},
                              format="json")

    assert response.status_code == 400
    assert response.json()["as_of"] == [OUT_OF_RANGE]


def test_the_service_and_the_command_refuse_it_too(widget_example):
    from datetime import date

    with pytest.raises(InvalidInput) as refused:
        allocation_run(method="FIFO", as_of=date(1, 1, 1), policy="customer_score")
    assert (refused.value.field, refused.value.message) == ("as_of", OUT_OF_RANGE)
    with pytest.raises(CommandError, match="2000-01-01 and 2100-12-31"):
        call_command("allocate", "--method", "FIFO", "--as-of", "1999-01-01", stdout=StringIO())


@pytest.mark.parametrize(("path", "body", "field"), [
    ("lots/", {"reference": "L9", "item_code": "WIDGET", "quantity": 5, "unit_cost": "1", "received_on": "1999-12-31"},
     "received_on"),
    ("lots/", {"reference": "L9", "item_code": "WIDGET", "quantity": 5, "unit_cost": "1", "expires_on": "2101-01-01"},
     "expires_on"),
    ("orders/", {"order_date": "0001-01-01", "lines": [{"item_code": "WIDGET", "quantity": 1}]}, "order_date"),
    ("payments/", {"customer": None, "amount": "5", "due_date": "9999-12-31"}, "due_date"),
])
def test_records_refuse_dates_out_of_range(allocator, widget_example, path, body, field):
    if "customer" in body:
        body = {**body, "customer": widget_example["orders"]["O1"].customer_id}

    response = allocator.post(f"{API}{path}", body, format="json")

    assert response.status_code == 400
    assert response.json()[field] == [OUT_OF_RANGE]


def test_a_period_out_of_range_is_a_400(allocator, db):
    response = allocator.post(f"{API}periods/0001-01/close/", {"dry_run": True}, format="json")

    assert response.status_code == 400
    assert OUT_OF_RANGE in response.json()["period"][0]
