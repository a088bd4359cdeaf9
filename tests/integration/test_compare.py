"""What-if: the ALLOCATION.md worked example under every method side by side, through the API, the command and
the admin; the same starting stock for every method, nothing written, bad input a 400."""
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from allocation.comparison import methods_compare
from allocation.models import AllocationResult, AllocationRun
from allocation.parameters import RunRequest
from stock.models import Lot
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API

# ALLOCATION.md worked example (as_of 2026-01-25, order_date): per method, (quantity, amount, difference to FIFO)
TOTALS = {
    "FIFO": (180, "1995.00", "0.00"),
    "LIFO": (180, "2100.00", "105.00"),
    "SPECIFIC": (0, "0.00", "-1995.00"),  # no line names a lot
    "AVERAGE": (180, "2054.78", "59.78"),
    "TOTAL_AVERAGE": (180, "2016.00", "21.00"),
    "MOVING_AVERAGE": (180, "2016.00", "21.00"),
    "FEFO": (180, "1995.00", "0.00"),  # no lot expires: oldest first
    "LAST_PURCHASE": (180, "2070.00", "75.00"),  # L3's 11.5000, the last received by the 25th
}
# per order and method: (quantity, amount, average unit cost, difference to FIFO)
O1 = {"FIFO": (120, "1260.00", "10.5000", "0.00"), "LIFO": (120, "1410.00", "11.7500", "150.00"),
      "AVERAGE": (120, "1344.00", "11.2000", "84.00"), "MOVING_AVERAGE": (120, "1344.00", "11.2000", "84.00"),
      "LAST_PURCHASE": (120, "1380.00", "11.5000", "120.00"), "SPECIFIC": (0, "0.00", None, "-1260.00")}
O2 = {"FIFO": (60, "735.00", "12.2500", "0.00"), "LIFO": (60, "690.00", "11.5000", "-45.00"),
      "AVERAGE": (60, "710.78", "11.8463", "-24.22"), "TOTAL_AVERAGE": (60, "672.00", "11.2000", "-63.00")}


def compare(client, **body):
    return client.post(f"{API}allocate/compare/", {"as_of": "2026-01-25", **body}, format="json")


def test_the_worked_example_under_every_method_matches_to_the_cent(widget_example, allocator):
    # when
    response = compare(allocator)
    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["baseline"] == "FIFO" and body["methods"][0]["method"] == "FIFO"
    assert {m["method"]: (m["quantity"], m["amount"], m["difference"]) for m in body["methods"]} == TOTALS
    assert [m["method"] for m in body["methods"] if m["provisional"]] == ["TOTAL_AVERAGE"]
    assert body["orders_count"] == 2 and body["parameters"]["as_of"] == "2026-01-25"
    rows = {o["order_number"]: o["methods"] for o in body["orders"]}
    for number, expected in (("O1", O1), ("O2", O2)):
        for method, figures in expected.items():
            got = rows[number][method]
            assert (got["quantity"], got["amount"], got["unit_cost"], got["difference"]) == figures, (number, method)
    # nothing was written and every method saw the same stock
    assert not AllocationRun.objects.exists() and not AllocationResult.objects.exists()
    assert set(Lot.objects.values_list("allocated_quantity", flat=True)) == {0}


def test_methods_can_be_named_fifo_always_comes_first_and_the_order_rows_page(widget_example, allocator):
    response = compare(allocator, methods=["LIFO", "AVERAGE", "LIFO"], limit=1, offset=1)
    body = response.json()
    assert [m["method"] for m in body["methods"]] == ["FIFO", "LIFO", "AVERAGE"]
    assert [o["order_number"] for o in body["orders"]] == ["O2"] and body["orders_count"] == 2
    assert set(body["orders"][0]["methods"]) == {"FIFO", "LIFO", "AVERAGE"}


def test_fair_share_compares_every_method_it_applies_to(widget_example, allocator):
    body = compare(allocator, policy="fair_share").json()
    assert "SPECIFIC" not in {m["method"] for m in body["methods"]} and len(body["methods"]) == 7


@pytest.mark.parametrize(("payload", "field"), [
    ({"methods": ["NOPE"]}, "methods"),
    ({"method": "FIFO"}, "method"),  # the comparison chooses the methods
    ({"dry_run": True}, "dry_run"),
    ({"limit": 0}, "limit"),
    ({"limit": 100_000}, "limit"),
    ({"offset": -1}, "offset"),
    ({"policy": "fair_share", "allow_partial": False}, "allow_partial"),
    ({"policy": "fair_share", "methods": ["SPECIFIC"]}, "policy"),
    ({"as_of": "2999-01-01"}, "as_of"),
])
def test_bad_compare_requests_are_400_naming_the_field(widget_example, allocator, payload, field):
    response = compare(allocator, **payload)
    assert response.status_code == 400
    assert field in response.json()


def test_an_unknown_order_is_404_and_a_viewer_may_not_compare(widget_example, allocator, viewer):
    assert compare(allocator, orders=[987654]).status_code == 404
    assert compare(viewer).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_dry_runs_share_one_read_only_snapshot(widget_example):
    # (on PostgreSQL a REPEATABLE READ READ ONLY transaction: any write would fail)
    comparison = methods_compare(RunRequest(method="FIFO", as_of=date(2026, 1, 25)), ["LIFO"])
    assert [(row["method"], str(row["amount"])) for row in comparison.method_rows()] == [("FIFO", "1995.00"),
                                                                                          ("LIFO", "2100.00")]


def test_the_command_prints_the_comparison(widget_example):
    out = StringIO()
    call_command("allocate", "--compare", "--as-of", "2026-01-25", stdout=out)
    text = out.getvalue()
    assert "LIFO" in text and "2100.00" in text and "+105.00" in text and "2054.78" in text
    assert "O1" in text and "1410.00" in text
    assert not AllocationRun.objects.exists()


def test_the_admin_compare_button_shows_the_table(admin_client, widget_example):
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    response = admin_client.post("/admin/orders/order/allocate/", {
        "method": "FIFO", "policy": "order_date", "as_of": "2026-01-25", "allow_partial": "on", "allow_inbound": "on",
        "compare": "1", "_selected_action": [o1.pk, o2.pk], "select_across": "0"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="compare-methods"' in page and "2,100" in page and "+105" in page
    assert not AllocationRun.objects.exists()
