"""Why each pick was made: the same line in a dry run and a stored run, through the API, the admin (preview,
run page, result page) and the command; kept across a period close; fair share and AVERAGE bases remembered."""
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from allocation.explain import PickFacts, explain
from allocation.models import AllocationResult
from allocation.services import allocation_run, period_close
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API
from tests.factories import ItemFactory, LotFactory, order_with_lines

AVERAGE_WHY = [  # the worked example under AVERAGE, inbound allowed (L4 is not in the average: not in stock)
    "AVERAGE: oldest lot in stock (L1, received 2026-01-05); average 11.2000 = 2800.00 / 250 over L1, L2, L3",
    "AVERAGE: oldest lot in stock (L2, received 2026-01-10); average 11.2000 = 2800.00 / 250 over L1, L2, L3",
    "AVERAGE: oldest lot in stock (L2, received 2026-01-10); average 11.8462 = 1540.00 / 130 over L2, L3",
    "AVERAGE: oldest lot in stock (L3, received 2026-01-20); average 11.8462 = 1540.00 / 130 over L2, L3",
]


def explanations(body: dict) -> list[str]:
    return [r["explanation"] for r in body["results"]]


def test_a_dry_run_and_the_stored_run_explain_each_pick_alike(widget_example, allocator):
    request = {"method": "AVERAGE", "as_of": "2026-01-25"}
    dry = allocator.post(f"{API}allocate/", {**request, "dry_run": True}, format="json").json()
    stored = allocator.post(f"{API}allocate/", request, format="json").json()
    assert explanations(dry) == explanations(stored) == AVERAGE_WHY
    listed = allocator.get(f"{API}allocation-results/", {"run": stored["run"]["id"]}).json()
    assert explanations(listed) == AVERAGE_WHY
    one = allocator.get(f"{API}allocation-results/{stored['results'][2]['id']}/").json()
    assert one["explanation"] == AVERAGE_WHY[2]
    order = widget_example["orders"]["O2"].pk
    assert explanations(allocator.get(f"{API}orders/{order}/allocations/").json()) == AVERAGE_WHY[2:]


def test_an_inbound_pick_says_the_stock_ran_out(widget_example, allocator):
    allocation_run(method="FIFO", as_of=date(2026, 1, 25))  # O1 and O2 take 180 of the 250 in stock
    big = order_with_lines("O3", date(2026, 1, 21), (widget_example["item"], 100))
    body = allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25", "orders": [big.pk]},
                          format="json").json()
    assert explanations(body) == [
        "FIFO: oldest lot in stock (L3, received 2026-01-20); the lot's cost 11.5000",
        "FIFO: inbound after in-stock ran out (L4, ETA 2026-02-10); the lot's cost 12.0000",
    ]


def test_a_total_average_pick_reads_provisional_then_final_after_the_close(widget_example, allocator, clock):
    clock(date(2026, 2, 5))
    run = allocation_run(method="TOTAL_AVERAGE", as_of=date(2026, 1, 25)).run
    results = f"{API}allocation-results/?run={run.pk}"
    assert explanations(allocator.get(results).json())[0].endswith("11.2000, provisional until 2026-01 is closed")
    period_close(period="2026-01")
    assert explanations(allocator.get(results).json())[0].endswith("total average of 2026-01: 11.2000, final")


def test_a_fair_share_pick_says_its_share(db, allocator):
    widget = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=widget, received_on=date(2026, 1, 5), quantity=100, unit_cost=Decimal("10"))
    for number, day, quantity in (("O1", 6, 120), ("O2", 12, 60), ("O3", 13, 20)):
        order_with_lines(number, date(2026, 1, day), (widget, quantity))
    body = allocator.post(f"{API}allocate/", {"method": "FIFO", "policy": "fair_share", "as_of": "2026-01-25"},
                          format="json").json()
    assert explanations(body)[1] == ("FIFO: oldest lot in stock (L1, received 2026-01-05); the lot's cost 10.0000; "
                                     "fair share: 30 of 60 asked (100 for 200)")


def test_the_admin_explains_in_the_preview_on_the_run_page_and_on_a_result_page(admin_client, widget_example):
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    selection = {"_selected_action": [o1.pk, o2.pk], "select_across": "0", "method": "AVERAGE",
                 "policy": "order_date", "as_of": "2026-01-25", "allow_partial": "on", "allow_inbound": "on"}
    preview = admin_client.post("/admin/orders/order/allocate/", {**selection, "preview": "1"})
    assert [p["why"] for p in preview.context["preview"]["picks"]] == AVERAGE_WHY
    assert "average 11.8462 = 1540.00 / 130 over L2, L3" in preview.content.decode()
    run = allocation_run(method="AVERAGE", as_of=date(2026, 1, 25)).run
    page = admin_client.get(f"/admin/allocation/allocationrun/{run.pk}/change/").content.decode()
    assert AVERAGE_WHY[0].replace("'", "&#x27;") in page
    result = AllocationResult.objects.filter(run=run).order_by("id")[2]
    page = admin_client.get(f"/admin/allocation/allocationresult/{result.pk}/change/").content.decode()
    assert "1540.00 / 130 over L2, L3" in page


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_command_explains_every_pick(widget_example, dry_run):
    out = StringIO()
    call_command("allocate", "--method", "AVERAGE", "--as-of", "2026-01-25", "--explain",
                 *(["--dry-run"] if dry_run else []), stdout=out)
    text = out.getvalue()
    assert f"O2 WIDGET L3 x 30 @ 11.8462 = 355.39: {AVERAGE_WHY[3]}" in text


def test_a_run_page_in_japanese_explains_its_picks_in_japanese(widget_example, admin_client):
    run = allocation_run(method="TOTAL_AVERAGE", as_of=date(2026, 1, 25), allow_inbound=True).run

    page = admin_client.get(f"/admin/allocation/allocationrun/{run.pk}/change/", HTTP_ACCEPT_LANGUAGE="ja")

    whys = [result.explanation for result in page.context["results_page"]]
    assert whys[0] == ("TOTAL_AVERAGE: 在庫のうち最も古いロット（L1、入荷 2026-01-05）; "
                       "2026-01 の総平均: 11.2000、2026-01 の締めまで仮")
    assert "oldest" not in page.content.decode()
    with translation.override("ja"):  # and an inbound pick, as the run page would say it
        inbound = explain(PickFacts("FIFO", date(2026, 1, 25), "L4", None, date(2026, 2, 10), None, Decimal("12")),
                          translation.gettext)
    assert inbound == "FIFO: 在庫切れのため入荷予定分から（L4、入荷予定 2026-02-10）; ロットの単価 12"
