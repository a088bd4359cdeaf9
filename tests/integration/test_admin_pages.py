"""The lot, run, period-close and dashboard pages of the back office."""
import re
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from allocation.models import AllocationResult, AllocationRun, ClosedPeriod
from allocation.services import allocation_run
from stock.models import Lot
from tests.factories import ItemFactory, LotFactory, order_with_lines


def lot_form(lot: Lot, **changes) -> dict:
    data = {"reference": lot.reference, "item": lot.item_id, "quantity": lot.quantity, "unit_cost": lot.unit_cost,
            "received_on": lot.received_on or "", "eta": lot.eta or "", "expires_on": lot.expires_on or "", "note": ""}
    return {**data, **changes}


@pytest.fixture
def fifo_run(widget_example, admin_user):
    orders = widget_example["orders"]
    return allocation_run(method="FIFO", orders=[orders["O1"], orders["O2"]], as_of=date(2026, 1, 25), user=admin_user).run


def test_the_lot_page_shows_which_orders_hold_it_with_quantity_and_run(admin_client, fifo_run):
    lot = Lot.objects.get(reference="L2")

    page = admin_client.get(f"/admin/stock/lot/{lot.pk}/change/").content.decode()

    assert 'class="lot-holders"' in page
    assert ">O1</a></td><td>20</td>" in page and ">O2</a></td><td>30</td>" in page
    assert f'/admin/allocation/allocationrun/{fifo_run.pk}/change/">#{fifo_run.pk}</a>' in page


def test_shrinking_a_lot_below_what_is_allocated_is_refused_with_a_clear_message(admin_client, fifo_run):
    # given: L2 has 50 units, all allocated (O1 20, O2 30)
    lot = Lot.objects.get(reference="L2")
    # when
    response = admin_client.post(f"/admin/stock/lot/{lot.pk}/change/", lot_form(lot, quantity=40))
    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["quantity"] == [
        "50 units of this lot are allocated (orders O1, O2); release them first."
    ]
    assert Lot.objects.get(pk=lot.pk).quantity == 50


def test_growing_a_lot_saves_through_the_service(admin_client, fifo_run):
    lot = Lot.objects.get(reference="L2")

    response = admin_client.post(f"/admin/stock/lot/{lot.pk}/change/", lot_form(lot, quantity=80, note="recount"))

    assert response.status_code == 302
    saved = Lot.objects.get(pk=lot.pk)
    assert (saved.quantity, saved.allocated_quantity, saved.note) == (80, 50, "recount")


def test_the_run_page_shows_parameters_who_ran_it_outcomes_and_results(admin_client, admin_user, fifo_run, widget_example):
    # given: O3 cannot be filled in stock, so its outcome carries a shortfall
    o3 = order_with_lines("O3", date(2026, 1, 7), (widget_example["item"], 500))
    run = allocation_run(method="LIFO", orders=[o3], as_of=date(2026, 1, 25), allow_inbound=False).run
    # when
    response = admin_client.get(f"/admin/allocation/allocationrun/{fifo_run.pk}/change/")
    other = admin_client.get(f"/admin/allocation/allocationrun/{run.pk}/change/").content.decode()
    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert "First in, first out (FIFO)" in page and "Order date (oldest first)" in page
    assert re.search(rf'/admin/auth/user/{admin_user.pk}/change/"[^>]*>\s*admin\s*</a>', page)  # who ran it
    assert "1,260<" in page and "735<" in page  # outcome per order (money in the currency's decimals, JPY: none)
    assert [r.lot.reference for r in response.context["results_page"]] == ["L1", "L2", "L2", "L3"]
    assert 'name="_save"' not in page  # read only
    assert "WIDGET: 430 short of 500" in other


def test_the_run_page_pages_big_runs_and_says_how_many_are_not_shown(admin_client, admin_user):
    # given: a run of 150 orders
    item = ItemFactory(item_code="NUT")
    LotFactory(reference="N1", item=item, quantity=1000, received_on=date(2026, 1, 2))
    orders = [order_with_lines(f"N{n:03d}", date(2026, 1, 3), (item, 1)) for n in range(150)]
    run = allocation_run(method="FIFO", orders=orders, as_of=date(2026, 1, 25)).run
    # when
    first = admin_client.get(f"/admin/allocation/allocationrun/{run.pk}/change/")
    second = admin_client.get(f"/admin/allocation/allocationrun/{run.pk}/change/?outcomes=2&results=2")
    # then
    assert len(first.context["outcomes_page"]) == 100 and len(first.context["results_page"]) == 100
    assert "Orders 1–100 of 150" in first.content.decode()
    assert len(second.context["outcomes_page"]) == 50 and "Results 101–150 of 150" in second.content.decode()


def test_the_run_page_runs_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    item = ItemFactory(item_code="NUT")
    LotFactory(reference="N1", item=item, quantity=1000, received_on=date(2026, 1, 2))
    small = allocation_run(method="FIFO", orders=[order_with_lines(f"S{n}", date(2026, 1, 3), (item, 1)) for n in range(5)],
                           as_of=date(2026, 1, 25)).run
    big = allocation_run(method="FIFO", orders=[order_with_lines(f"B{n}", date(2026, 1, 3), (item, 1)) for n in range(50)],
                         as_of=date(2026, 1, 25)).run
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small_queries:
        admin_client.get(f"/admin/allocation/allocationrun/{small.pk}/change/")
    with django_assert_max_num_queries(len(small_queries)):
        admin_client.get(f"/admin/allocation/allocationrun/{big.pk}/change/")


@pytest.fixture
def total_average_january(admin_user):
    """A provisional TOTAL_AVERAGE pick in January 2026 with a later January receipt that changes the average."""
    item = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=item, quantity=100, unit_cost=Decimal("10"), received_on=date(2026, 1, 5))
    order = order_with_lines("O1", date(2026, 1, 6), (item, 50))
    allocation_run(method="TOTAL_AVERAGE", orders=[order], as_of=date(2026, 1, 10))
    LotFactory(reference="L2", item=item, quantity=100, unit_cost=Decimal("12"), received_on=date(2026, 1, 20))
    return order


def test_the_close_period_page_previews_old_and_new_costs_then_closes(admin_client, total_average_january):
    # when: preview
    preview = admin_client.post("/admin/allocation/closedperiod/close/", {"period": "2026-01", "preview": "1"})
    # then: (100 x 10 + 100 x 12) / 200 = 11
    recosted = preview.context["recosted"]
    assert [(r.old_unit_cost, r.new_unit_cost, r.old_amount, r.new_amount) for r in recosted] == [
        (Decimal("10.0000"), Decimal("11.0000"), Decimal("500.00"), Decimal("550.00")),
    ]
    assert ClosedPeriod.objects.count() == 0 and AllocationResult.objects.get().unit_cost == Decimal("10.0000")
    # when: close
    closed = admin_client.post("/admin/allocation/closedperiod/close/",
                               {"period": "2026-01", "previewed": "2026-01", "close": "1"}, follow=True)
    # then
    assert ClosedPeriod.objects.get().start == date(2026, 1, 1)
    result = AllocationResult.objects.get()
    assert (result.unit_cost, result.provisional_unit_cost, result.cost_final) == (Decimal("11.0000"), Decimal("10.0000"), True)
    assert "Period 2026-01 closed: 1 results re-costed." in [str(m) for m in closed.context["messages"]]


def test_closing_a_period_that_has_not_ended_is_an_error_message(admin_client, db):
    period = f"{timezone.localdate():%Y-%m}"

    response = admin_client.post("/admin/allocation/closedperiod/close/", {"period": period, "preview": "1"})

    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert ClosedPeriod.objects.count() == 0


def test_close_without_a_preview_of_that_period_only_previews(admin_client, total_average_january):
    admin_client.post("/admin/allocation/closedperiod/close/", {"period": "2026-01", "previewed": "2025-12", "close": "1"})

    assert ClosedPeriod.objects.count() == 0


def test_the_closed_periods_list_links_to_the_close_page(admin_client, db):
    page = admin_client.get("/admin/allocation/closedperiod/").content.decode()

    assert 'href="/admin/allocation/closedperiod/close/"' in page


def test_the_dashboard_shows_stock_orders_expiring_lots_runs_and_a_chart(admin_client, fifo_run):
    # given: a lot expiring in ten days
    today = timezone.localdate()
    LotFactory(reference="SOON", item=ItemFactory(item_code="MILK"), quantity=40, received_on=date(2026, 1, 2),
               expires_on=today + timezone.timedelta(days=10))
    # when
    response = admin_client.get("/admin/")
    # then
    page = response.content.decode()
    widget = next(i for i in response.context["items"] if i.item_code == "WIDGET")
    # the figures of stock.selectors, the same as the items list: nothing shipped yet
    assert (widget.on_hand_units, widget.allocated_units, widget.available_units, widget.inbound_units) == (
        250, 180, 70, 200)
    assert "<svg" in page and "WIDGET" in page and "http" not in page.split("<svg", 1)[1].split("</svg>")[0].replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert "SOON" in page
    assert f"/admin/allocation/allocationrun/{fifo_run.pk}/change/" in page
    assert response.context["orders"]["open_fill_rate"] is None  # every order allocated: none open
    assert response.context["orders"]["recent_fill_rate"] is None  # the orders are of January, not of the last 30 days


def test_the_dashboard_runs_a_fixed_number_of_queries(admin_client, db, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    item = ItemFactory(item_code="A")
    LotFactory(item=item, quantity=10)
    with CaptureQueriesContext(connection) as few:
        admin_client.get("/admin/")
    for n in range(30):
        lot = LotFactory(item=ItemFactory(item_code=f"X{n}"), quantity=10, expires_on=timezone.localdate())
        order_with_lines(f"D{n}", date(2026, 1, 3), (lot.item, 1))
    allocation_run(method="FIFO", as_of=date(2026, 1, 25))
    with django_assert_max_num_queries(len(few)):
        admin_client.get("/admin/")
    assert AllocationRun.objects.count() == 1


def test_deleting_a_lot_goes_through_the_service_and_an_allocated_lot_is_kept(admin_client, fifo_run):
    # given: L4 was never allocated; L1 is
    l1, l4 = Lot.objects.get(reference="L1"), Lot.objects.get(reference="L4")
    # when
    admin_client.post(f"/admin/stock/lot/{l4.pk}/delete/", {"post": "yes"})
    refused = admin_client.post(f"/admin/stock/lot/{l1.pk}/delete/", {"post": "yes"})
    # then
    assert not Lot.objects.filter(reference="L4").exists()
    assert Lot.objects.filter(reference="L1").exists() and refused.status_code in (200, 302)
