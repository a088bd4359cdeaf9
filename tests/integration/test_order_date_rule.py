"""An order placed after the allocation date did not exist then: a run skips it (ALLOCATION.md).

Checked at every door that runs an allocation: the service, the API, the admin preview,
the command and the run's page.
"""
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from allocation.models import AllocationResult, AllocationRun
from allocation.services import allocation_run
from orders.models import OrderStatus
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API
from tests.factories import order_with_lines

AS_OF = date(2026, 1, 25)
REASON = "ordered after the allocation date"


@pytest.fixture
def late_order(widget_example):
    """O3, placed on 2026-01-27: after a run dated 2026-01-25, with stock enough for it."""
    return order_with_lines("O3", date(2026, 1, 27), (widget_example["item"], 10))


def outcome_of(outcomes: list[dict], number: str) -> dict:
    return next(o for o in outcomes if o["order_number"] == number)


def test_a_run_skips_an_order_placed_after_its_date_and_allocates_it_nothing(late_order):
    # when
    report = allocation_run(method="FIFO", as_of=AS_OF)
    # then
    o3 = outcome_of(report.outcomes, "O3")
    assert (o3["status"], o3["reason"], o3["quantity"]) == ("skipped", REASON, 0)
    assert [(s["requested"], s["allocated"], s["reason"]) for s in o3["shortfalls"]] == [(10, 0, REASON)]
    assert not AllocationResult.objects.filter(order=late_order).exists()
    late_order.refresh_from_db()
    assert late_order.status == OrderStatus.OPEN
    # the orders that existed are allocated as the contract's worked example says
    assert outcome_of(report.outcomes, "O1")["amount"] == "1260.00"
    assert outcome_of(report.outcomes, "O2")["amount"] == "735.00"
    assert report.run.orders_not_allocated == 1


def test_an_order_placed_on_the_allocation_date_is_allocated(widget_example):
    o3 = order_with_lines("O3", AS_OF, (widget_example["item"], 10))

    report = allocation_run(method="FIFO", orders=[o3], as_of=AS_OF)

    assert outcome_of(report.outcomes, "O3")["status"] == "allocated"


def test_one_order_named_alone_and_placed_after_the_date_is_skipped_too_not_refused(late_order):
    report = allocation_run(method="FIFO", orders=[late_order], as_of=AS_OF, allow_partial=False)

    assert [(o["status"], o["reason"]) for o in report.outcomes] == [("skipped", REASON)]
    assert not AllocationResult.objects.exists()


def test_the_same_order_is_allocated_by_a_run_dated_after_it(late_order):
    allocation_run(method="FIFO", as_of=AS_OF)

    report = allocation_run(method="FIFO", orders=[late_order], as_of=date(2026, 1, 28))

    assert outcome_of(report.outcomes, "O3")["status"] == "allocated"


def test_the_api_says_why_the_order_was_skipped(late_order, allocator):
    response = allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25"}, format="json")

    assert response.status_code == 201
    o3 = outcome_of(response.json()["outcomes"], "O3")
    assert (o3["status"], o3["reason"]) == ("skipped", REASON)
    outcomes = allocator.get(f"{API}allocation-runs/{response.json()['run']['id']}/outcomes/?short=true").json()
    assert outcome_of(outcomes["results"], "O3")["reason"] == REASON


def test_the_admin_preview_and_the_run_page_say_why(late_order, widget_example, admin_client):
    # given
    orders = [widget_example["orders"]["O1"], widget_example["orders"]["O2"], late_order]
    form = {"method": "FIFO", "policy": "order_date", "as_of": "2026-01-25", "allow_partial": "on",
            "allow_inbound": "on", "_selected_action": [o.pk for o in orders], "select_across": "0"}
    # when
    preview = admin_client.post("/admin/orders/order/allocate/", {**form, "preview": "1"})
    admin_client.post("/admin/orders/order/allocate/", {**form, "allocate": "1"})
    # then
    assert outcome_of(preview.context["preview"]["outcomes"], "O3")["reason"] == REASON
    assert REASON in preview.content.decode()
    run = AllocationRun.objects.get()
    assert REASON in admin_client.get(f"/admin/allocation/allocationrun/{run.pk}/change/").content.decode()


def test_the_command_prints_why(late_order):
    out = StringIO()

    call_command("allocate", "--method", "FIFO", "--as-of", "2026-01-25", stdout=out)

    assert f"O3: skipped ({REASON})" in out.getvalue()
