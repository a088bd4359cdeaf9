"""Pick lists: per (lot, order line) the units allocated and not shipped, by lot reference then order number.

The worked example of ALLOCATION.md allocated by FIFO at 2026-01-25 in run 1: O1 holds L1 100 and L2 20,
O2 holds L2 30 and L3 30; then 110 of O1 shipped (all of L1's pick, 10 of L2's).
"""
from __future__ import annotations

import csv
import io
import pathlib
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders

from allocation import admin_shipping
from allocation.models import AllocationRun
from allocation.picklists import named, pick_list
from allocation.services import allocation_release, allocation_run
from allocation.shipping import order_ship
from inventory_alloc.pagination import PageNumberPagination
from stock.models import Lot
from stock.services import lot_update
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API, client_for, user_in
from tests.factories import ItemFactory, LotFactory, order_with_lines

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 1, 25)


@pytest.fixture
def picking(widget_example):
    run = allocation_run(method="FIFO", as_of=AS_OF).run
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    order_ship(order=o1, lines=[{"line": o1.lines.get().pk, "quantity": 110}])
    return {**widget_example, "run": run, "o1": o1, "o2": o2, "line1": o1.lines.get().pk, "line2": o2.lines.get().pk}


def walk(rows) -> list[tuple]:
    """Return (lot, order, quantity) of rows as the API shows them."""
    return [(r["lot_reference"], r["order_number"], r["quantity"]) for r in rows]


def walk_rows(rows) -> list[tuple]:
    """Return (lot, order, quantity) of rows as `pick_list` reads them and `named` completes them."""
    return [(r["lot__reference"], r["order__order_number"], r["quantity"]) for r in named(rows)]


# --- the reads ----------------------------------------------------------------------------------------

def test_a_runs_pick_list_walks_the_lots_by_reference_then_order_net_of_what_shipped(picking):
    rows = named(pick_list(run=picking["run"].pk))
    assert [(r["lot__reference"], r["order__order_number"], r["order_line_id"], r["quantity"]) for r in rows] == [
        ("L2", "O1", picking["line1"], 10), ("L2", "O2", picking["line2"], 30), ("L3", "O2", picking["line2"], 30),
    ]


def test_an_orders_pick_list_holds_one_row_per_lot_and_line_across_runs(picking):
    # given: O3 wants 80; the 70 left in L3 go to it in one run, then L3 grows by 10 and a second run takes them
    o3 = order_with_lines("O3", date(2026, 1, 20), (picking["item"], 80))
    first = allocation_run(method="FIFO", orders=[o3], as_of=AS_OF, allow_inbound=False).run
    lot_update(lot=Lot.objects.get(reference="L3"), quantity=110)
    second = allocation_run(method="FIFO", orders=[o3], as_of=AS_OF, allow_inbound=False).run
    # when / then: the order's list sums both picks; each run's list has its own
    assert walk_rows(pick_list(order=o3.pk)) == [("L3", "O3", 80)]
    assert walk_rows(pick_list(run=first.pk)) == [("L3", "O3", 70)]
    assert walk_rows(pick_list(run=second.pk)) == [("L3", "O3", 10)]


def test_released_and_fully_shipped_picks_leave_the_pick_list(picking):
    allocation_release(order=picking["o2"])
    order_ship(order=picking["o1"])
    assert list(pick_list(run=picking["run"].pk)) == []
    assert list(pick_list(order=picking["o1"].pk)) == []


# --- the API ------------------------------------------------------------------------------------------

def test_the_api_answers_a_runs_pick_list_as_paged_json(picking):
    client = client_for(user_in("warehouse"))
    response = client.get(f"{API}allocation-runs/{picking['run'].pk}/pick-list/?page_size=2")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], response["X-Total-Count"]) == (3, "3")
    assert body["next"].endswith(f"/allocation-runs/{picking['run'].pk}/pick-list/?page=2&page_size=2")
    assert response["Link"] == f'<{body["next"]}>; rel="next"'
    l2 = Lot.objects.get(reference="L2")
    assert body["results"][0] == {
        "lot": l2.pk, "lot_reference": "L2", "item_code": "WIDGET", "item_name": "Widget", "expires_on": None,
        "received_on": "2026-01-10", "quantity": 10, "order_number": "O1", "order": picking["o1"].pk,
        "line": picking["line1"]}
    following = client.get(body["next"]).json()
    assert walk(following["results"]) == [("L3", "O2", 30)] and following["next"] is None


def test_the_api_answers_an_orders_pick_list(picking):
    response = client_for(user_in("viewer")).get(f"{API}orders/{picking['o2'].pk}/pick-list/")
    assert response.status_code == 200
    assert walk(response.json()["results"]) == [("L2", "O2", 30), ("L3", "O2", 30)]


def test_the_pick_list_as_csv_is_paged_with_its_links_in_the_headers(picking):
    client = client_for(user_in("warehouse"))
    url = f"{API}allocation-runs/{picking['run'].pk}/pick-list/?format=csv&page_size=2"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="pick-list-run-{picking["run"].pk}-page-1.csv"'
    assert response["X-Total-Count"] == "3"
    assert response["Link"].endswith('?format=csv&page=2&page_size=2>; rel="next"')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["lot", "lot_reference", "item_code", "item_name", "expires_on", "received_on", "quantity",
                       "order_number", "order", "line"]
    assert [(r[1], r[7], r[6]) for r in rows[1:]] == [("L2", "O1", "10"), ("L2", "O2", "30")]
    second = client.get(response["Link"][1:response["Link"].index(">")])
    assert [(r[1], r[7], r[6]) for r in list(csv.reader(io.StringIO(second.content.decode())))[1:]] == [("L3", "O2", "30")]
    assert 'rel="prev"' in second["Link"] and 'rel="next"' not in second["Link"]


def test_a_csv_cell_a_spreadsheet_would_run_is_neutralised(picking):
    item = picking["item"]
    item.name = "=HYPERLINK(\"http://evil\")"
    item.save()
    response = client_for(user_in("warehouse")).get(f"{API}orders/{picking['o2'].pk}/pick-list/?format=csv")
    assert list(csv.reader(io.StringIO(response.content.decode())))[1][3] == "'=HYPERLINK(\"http://evil\")"


@pytest.mark.parametrize("query", ["?format=csv&page=9", "?format=csv&page_size=0", "?format=csv&status=x"])
def test_an_error_is_json_even_when_csv_was_asked_for(picking, query):
    response = client_for(user_in("warehouse")).get(f"{API}allocation-runs/{picking['run'].pk}/pick-list/{query}")
    assert response.status_code in (400, 404)
    assert response["Content-Type"] == "application/json"
    assert response.json()  # it says what is wrong


@pytest.mark.parametrize("csv_format", [False, True])
def test_a_page_never_holds_more_than_the_largest_page_size(picking, monkeypatch, csv_format):
    # given: pages of at most 2 rows (1000 in the settings)
    monkeypatch.setattr(PageNumberPagination, "max_page_size", 2)
    url = f"{API}allocation-runs/{picking['run'].pk}/pick-list/?page_size=5000{'&format=csv' if csv_format else ''}"
    # when
    response = client_for(user_in("warehouse")).get(url)
    # then
    assert response.status_code == 200 and response["X-Total-Count"] == "3"
    shown = len(response.content.decode().splitlines()) - 1 if csv_format else len(response.json()["results"])
    assert shown == 2 and 'rel="next"' in response["Link"]


@pytest.mark.parametrize(("group", "code"), [(None, 403), ("viewer", 200), ("clerk", 200), ("warehouse", 200)])
def test_who_may_read_pick_lists(picking, group, code):
    client = client_for(user_in(group))
    assert client.get(f"{API}allocation-runs/{picking['run'].pk}/pick-list/").status_code == code
    assert client.get(f"{API}orders/{picking['o1'].pk}/pick-list/").status_code == code


def test_a_pick_list_of_no_such_run_or_order_is_a_404(db, allocator):
    assert allocator.get(f"{API}allocation-runs/999/pick-list/").status_code == 404
    assert allocator.get(f"{API}orders/999/pick-list/?format=csv").status_code == 404


def test_the_api_pick_list_runs_a_fixed_number_of_queries(db, django_assert_max_num_queries):
    # given: a run of 60 orders over 20 lots
    item = ItemFactory(item_code="BOLT")
    for n in range(20):
        LotFactory(reference=f"B{n:02d}", item=item, quantity=3, received_on=date(2026, 1, 2))
    for n in range(60):
        order_with_lines(f"O{n:02d}", date(2026, 1, 3), (item, 1))
    run = allocation_run(method="FIFO", as_of=AS_OF).run
    client = client_for(user_in("warehouse"))
    with django_assert_max_num_queries(12) as few:
        client.get(f"{API}allocation-runs/{run.pk}/pick-list/?page_size=5")
    # when / then
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(f"{API}allocation-runs/{run.pk}/pick-list/?page_size=60&format=csv")
    assert len(response.content.decode().splitlines()) == 61


# --- the printable page in the admin --------------------------------------------------------------------

def test_the_runs_printable_pick_list_groups_by_lot_with_each_lots_total(picking, admin_client):
    run_page = admin_client.get(f"/admin/allocation/allocationrun/{picking['run'].pk}/change/").content.decode()
    url = f"/admin/allocation/allocationrun/{picking['run'].pk}/pick-list/"
    assert f'href="{url}"' in run_page
    # when
    response = admin_client.get(url)
    # then
    assert response.status_code == 200
    groups = [(g.reference, g.total, [(r["order__order_number"], r["quantity"]) for r in g.rows])
              for g in response.context["groups"]]
    assert groups == [("L2", 40, [("O1", 10), ("O2", 30)]), ("L3", 30, [("O2", 30)])]
    page = response.content.decode()
    assert "/static/backoffice/backoffice.css" in page  # whose print rules lay the list out on A4
    stylesheet = pathlib.Path(finders.find("backoffice/backoffice.css")).read_text()
    assert "@media print" in stylesheet and "@page { size: A4" in stylesheet
    assert 'id="print-pick-list"' in page and "window.print()" in page
    assert f'href="/api/v1/allocation-runs/{picking["run"].pk}/pick-list/?format=csv&amp;page_size=250&amp;page=1"' in page
    assert "Total from lot L2" in page and "3 picks; 70 units on this page." in page


def test_the_orders_printable_pick_list_is_linked_from_its_page(picking, admin_client):
    url = f"/admin/orders/order/{picking['o2'].pk}/pick-list/"
    assert f'href="{url}"' in admin_client.get(f"/admin/orders/order/{picking['o2'].pk}/change/").content.decode()
    response = admin_client.get(url)
    assert [(g.reference, g.total) for g in response.context["groups"]] == [("L2", 30), ("L3", 30)]
    assert "Pick list of order O2" in response.content.decode()


def test_a_lot_split_over_two_printed_pages_shows_the_whole_lists_total(picking, admin_client, monkeypatch):
    monkeypatch.setattr(admin_shipping, "PICK_LIST_PAGE_ROWS", 1)
    response = admin_client.get(f"/admin/allocation/allocationrun/{picking['run'].pk}/pick-list/")
    (group,) = response.context["groups"]
    assert (group.reference, group.total, group.page_quantity) == ("L2", 40, 10)
    assert "(10 on this page)" in response.content.decode()
    second = admin_client.get(f"/admin/allocation/allocationrun/{picking['run'].pk}/pick-list/?page=2")
    assert [(g.reference, g.total, g.page_quantity) for g in second.context["groups"]] == [("L2", 40, 30)]


def test_the_printable_pick_list_needs_the_right_to_view_the_run(picking, client, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(staff)
    assert client.get(f"/admin/allocation/allocationrun/{picking['run'].pk}/pick-list/").status_code == 403
    assert client.get(f"/admin/orders/order/{picking['o1'].pk}/pick-list/").status_code == 200
    assert client.get("/admin/orders/order/999/pick-list/").status_code == 404


def test_the_printable_pick_list_runs_a_fixed_number_of_queries(db, admin_client, django_assert_max_num_queries):
    item = ItemFactory(item_code="BOLT")
    for n in range(20):
        LotFactory(reference=f"B{n:02d}", item=item, quantity=3, received_on=date(2026, 1, 2))
    orders = [order_with_lines(f"O{n:02d}", date(2026, 1, 3), (item, 1)) for n in range(60)]
    small = allocation_run(method="FIFO", orders=orders[:2], as_of=AS_OF).run
    big = allocation_run(method="FIFO", as_of=AS_OF).run
    with django_assert_max_num_queries(30) as few:
        admin_client.get(f"/admin/allocation/allocationrun/{small.pk}/pick-list/")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(f"/admin/allocation/allocationrun/{big.pk}/pick-list/")
    assert len(response.context["groups"]) == 20
    assert AllocationRun.objects.count() == 2
