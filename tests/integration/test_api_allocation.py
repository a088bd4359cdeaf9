"""Allocation through the API: runs with every method, dry runs, shortfalls, results, runs, period close."""
from datetime import date

import pytest

from allocation.models import AllocationResult, AllocationRun
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API
from tests.factories import ItemFactory, LotFactory, order_with_lines

WORKED_EXAMPLE = {  # ALLOCATION.md: (order, lot, quantity, unit_cost, amount) per result row
    "FIFO": [("O1", "L1", 100, "10.0000", "1000.00"), ("O1", "L2", 20, "13.0000", "260.00"),
             ("O2", "L2", 30, "13.0000", "390.00"), ("O2", "L3", 30, "11.5000", "345.00")],
    "LIFO": [("O1", "L3", 100, "11.5000", "1150.00"), ("O1", "L2", 20, "13.0000", "260.00"),
             ("O2", "L2", 30, "13.0000", "390.00"), ("O2", "L1", 30, "10.0000", "300.00")],
    "AVERAGE": [("O1", "L1", 100, "11.2000", "1120.00"), ("O1", "L2", 20, "11.2000", "224.00"),
                ("O2", "L2", 30, "11.8462", "355.39"), ("O2", "L3", 30, "11.8462", "355.39")],
    "MOVING_AVERAGE": [("O1", "L1", 100, "11.2000", "1120.00"), ("O1", "L2", 20, "11.2000", "224.00"),
                       ("O2", "L2", 30, "11.2000", "336.00"), ("O2", "L3", 30, "11.2000", "336.00")],
    "TOTAL_AVERAGE": [("O1", "L1", 100, "11.2000", "1120.00"), ("O1", "L2", 20, "11.2000", "224.00"),
                      ("O2", "L2", 30, "11.2000", "336.00"), ("O2", "L3", 30, "11.2000", "336.00")],
}


def rows(results: list[dict]) -> list[tuple]:
    return [(r["order_number"], r["lot"], r["allocated_quantity"], r["unit_cost"], r["allocated_price"]) for r in results]


@pytest.mark.parametrize("method", sorted(WORKED_EXAMPLE))
def test_allocate_gives_the_worked_example_figures(widget_example, allocator, method):
    # when
    response = allocator.post(f"{API}allocate/", {"method": method, "as_of": "2026-01-25"}, format="json")
    # then
    assert response.status_code == 201
    body = response.json()
    assert rows(body["results"]) == WORKED_EXAMPLE[method]
    assert body["run"]["method"] == method and body["run"]["orders_fully_allocated"] == 2
    assert [(o["order_number"], o["status"]) for o in body["outcomes"]] == [("O1", "allocated"), ("O2", "allocated")]
    first = body["results"][0]
    assert first["run"] == body["run"]["id"] and first["allocation_date"] == "2026-01-25"
    assert first["method"] == method and first["released_at"] is None and isinstance(first["id"], int)


def test_specific_takes_the_lot_named_on_the_line(widget_example, allocator):
    order = order_with_lines("O3", date(2026, 1, 21), (widget_example["item"], 10, widget_example["lots"]["L3"]))
    response = allocator.post(f"{API}allocate/", {"method": "SPECIFIC", "as_of": "2026-01-25", "orders": [order.pk]},
                              format="json")
    assert rows(response.json()["results"]) == [("O3", "L3", 10, "11.5000", "115.00")]


@pytest.mark.parametrize("method", ["FEFO", "LAST_PURCHASE"])
def test_the_two_extra_methods_run_through_the_api(widget_example, allocator, method):
    response = allocator.post(f"{API}allocate/", {"method": method, "as_of": "2026-01-25",
                                                  "orders": [widget_example["orders"]["O1"].pk]}, format="json")
    expected_cost = "10.0000" if method == "FEFO" else "11.5000"
    assert response.status_code == 201
    assert response.json()["results"][0]["unit_cost"] == expected_cost


def test_a_dry_run_answers_200_with_the_results_and_writes_nothing(widget_example, allocator):
    response = allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25", "dry_run": True},
                              format="json")
    assert response.status_code == 200
    body = response.json()
    assert rows(body["results"]) == WORKED_EXAMPLE["FIFO"]
    assert {(r["id"], r["run"]) for r in body["results"]} == {(None, None)}
    assert body["results"][0]["method"] == "FIFO" and body["results"][0]["allocation_date"] == "2026-01-25"
    assert body["run"]["id"] is None
    assert not AllocationResult.objects.exists() and not AllocationRun.objects.exists()


def test_one_order_that_cannot_be_filled_all_or_nothing_is_a_409_with_the_shortfall(widget_example, allocator):
    # given: 300 more than the 250 in stock, inbound not allowed
    order = order_with_lines("BIG", date(2026, 1, 21), (widget_example["item"], 300))
    # when
    response = allocator.post(f"{API}allocate/", {
        "method": "FIFO", "as_of": "2026-01-25", "orders": [order.pk], "allow_partial": False, "allow_inbound": False,
    }, format="json")
    # then
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    line = order.lines.get()
    # nothing allocated; 250 in stock, so 50 short
    assert body["shortfalls"] == [{"line": line.pk, "item_code": "WIDGET", "requested": 300, "allocated": 0,
                                   "short": 50, "reason": body["shortfalls"][0]["reason"]}]
    assert not AllocationResult.objects.exists()


@pytest.mark.parametrize(("payload", "field", "status"), [
    ({"method": "NOPE"}, "method", 400),
    ({}, "method", 400),
    ({"method": "FIFO", "policy": "loudest"}, "policy", 400),
    ({"method": "FIFO", "as_of": "2999-01-01"}, "as_of", 400),
    ({"method": "FIFO", "as_of": "not a date"}, "as_of", 400),
    ({"method": "FIFO", "orders": ["x"]}, "orders", 400),
    ({"method": "FIFO", "orders": [987654]}, "detail", 404),
    ({"method": "FIFO", "policy": "fair_share", "allow_partial": False}, "allow_partial", 400),
    ({"method": "SPECIFIC", "policy": "fair_share"}, "policy", 400),
])
def test_bad_allocate_requests_are_400_or_404_naming_the_field(db, allocator, payload, field, status):
    response = allocator.post(f"{API}allocate/", payload, format="json")
    assert response.status_code == status
    assert field in response.json()


def test_fair_share_shares_the_worked_example_60_30_10_and_says_why(db, allocator):
    # given: ALLOCATION.md, policy fair_share: lots of WIDGET give 100; O1 asks 120, O2 60, O3 20
    widget = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=widget, received_on=date(2026, 1, 5), quantity=100, unit_cost="10")
    for number, day, quantity in (("O1", 6, 120), ("O2", 12, 60), ("O3", 13, 20)):
        order_with_lines(number, date(2026, 1, day), (widget, quantity))
    # when
    response = allocator.post(f"{API}allocate/", {"method": "FIFO", "policy": "fair_share", "as_of": "2026-01-25"},
                              format="json")
    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert rows(body["results"]) == [("O1", "L1", 60, "10.0000", "600.00"), ("O2", "L1", 30, "10.0000", "300.00"),
                                     ("O3", "L1", 10, "10.0000", "100.00")]
    assert body["run"]["policy"] == "fair_share"
    shorts = [(o["order_number"], o["status"], o["shortfalls"][0]) for o in body["outcomes"]]
    assert [(n, st, s["allocated"], s["quota"], s["supply"], s["demand"]) for n, st, s in shorts] == [
        ("O1", "partial", 60, 60, 100, 200), ("O2", "partial", 30, 30, 100, 200), ("O3", "partial", 10, 10, 100, 200)]
    assert shorts[1][2]["reason"] == "fair share: 30 of 60 asked (100 for 200)"
    run = body["run"]["id"]
    stored = allocator.get(f"{API}allocation-runs/{run}/outcomes/").json()["results"]
    assert stored[0]["shortfalls"][0]["quota"] == 60


def test_allocation_results_filter_by_order_item_lot_run_method_date_and_activity(widget_example, allocator):
    # given: a FIFO run, then O1's L2 pick released
    run = allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25"}, format="json").json()["run"]
    o1 = widget_example["orders"]["O1"]
    allocator.post(f"{API}orders/{o1.pk}/release/", {"lot": "L2"}, format="json")
    count = lambda query: allocator.get(f"{API}allocation-results/{query}").json()["count"]  # noqa: E731
    # then
    assert count(f"?order={o1.pk}") == 2
    assert count("?order_number=O2") == 2
    assert count("?item_code=WIDGET") == 4
    assert count("?lot=L2") == 2
    assert count(f"?run={run['id']}") == 4
    assert count("?method=FIFO") == 4 and count("?method=LIFO") == 0
    assert count("?allocation_date_after=2026-01-26") == 0
    assert count("?active=true") == 3 and count("?active=false") == 1


def test_allocation_runs_list_their_summaries_and_each_runs_outcomes_are_a_sub_resource(widget_example, viewer,
                                                                                         allocator):
    allocator.post(f"{API}allocate/", {"method": "LIFO", "as_of": "2026-01-25"}, format="json")
    runs = viewer.get(f"{API}allocation-runs/").json()["results"]
    assert [(r["method"], r["allocated_quantity"], r["allocated_amount"]) for r in runs] == [("LIFO", 180, "2100.00")]
    assert "outcomes" not in runs[0] and runs[0]["requested_orders_count"] is None
    assert runs[0]["started_by"] == "allocator-user"
    outcomes = viewer.get(f"{API}allocation-runs/{runs[0]['id']}/outcomes/").json()
    assert [(o["order_number"], o["status"], o["amount"]) for o in outcomes["results"]] == [
        ("O1", "allocated", "1410.00"), ("O2", "allocated", "690.00")]


def test_closing_a_period_recosts_its_total_average_picks(widget_example, allocator):
    # given: January's TOTAL_AVERAGE picks, then a late January receipt that changes the average
    allocator.post(f"{API}allocate/", {"method": "TOTAL_AVERAGE", "as_of": "2026-01-25"}, format="json")
    LotFactory(reference="L5", item=widget_example["item"], received_on=date(2026, 1, 28), quantity=70,
               unit_cost="20")
    # when
    preview = allocator.post(f"{API}periods/2026-01/close/?dry_run=true")
    closed = allocator.post(f"{API}periods/2026-01/close/", {}, format="json")
    again = allocator.post(f"{API}periods/2026-01/close/", {"dry_run": True}, format="json")
    # then: (100×10 + 50×13 + 100×11.5 + 70×20) / 320 = 13.1250
    assert preview.status_code == 200 and preview.json()["dry_run"] is True
    assert closed.status_code == 201
    body = closed.json()
    assert body["averages"] == {"WIDGET": "13.1250"}
    first = body["recosted"][0]
    assert (first["old_unit_cost"], first["new_unit_cost"], first["old_amount"], first["new_amount"]) == (
        "11.2000", "13.1250", "1120.00", "1312.50")
    assert preview.json()["recosted"] == body["recosted"]
    assert again.status_code == 409
    result = allocator.get(f"{API}allocation-results/{first['result_id']}/").json()
    assert (result["unit_cost"], result["provisional_unit_cost"], result["cost_final"]) == ("13.1250", "11.2000", True)


@pytest.mark.parametrize(("period", "status"), [("2026-13", 400), ("2999-01", 400), ("2026-1x", 404)])
def test_a_bad_or_unfinished_period_is_refused(db, allocator, period, status):
    response = allocator.post(f"{API}periods/{period}/close/")
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("page_size", [5, 100])
@pytest.mark.parametrize("path", [
    "items/", "lots/", "inventories/", "customers/", "payments/", "orders/", "allocation-results/", "allocation-runs/",
])
def test_list_endpoints_run_a_fixed_number_of_queries(allocator, django_assert_max_num_queries, path, page_size):
    # given: more rows than a page, with allocations
    items = [ItemFactory(item_code=f"I{n}") for n in range(3)]
    for n in range(110):
        LotFactory(reference=f"L{n}", item=items[n % 3], quantity=5)
    orders = [order_with_lines(f"O{n}", date(2026, 1, 6), (items[n % 3], 2), (items[(n + 1) % 3], 1)) for n in range(110)]
    allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25"}, format="json")
    for order in orders[:3]:
        allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25", "orders": [order.pk]}, format="json")
    # when / then: auth (user + groups/perms) + count + page + prefetches, whatever the page size; the orders'
    # page first weighs its orders' lines (their ids, then the line counts: WeightedPagination)
    with django_assert_max_num_queries(9 if path == "orders/" else 7):
        response = allocator.get(f"{API}{path}?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, response.json()["count"])
