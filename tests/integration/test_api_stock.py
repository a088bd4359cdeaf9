"""Items, lots and the flat `inventories` shape through the API."""
from datetime import date

from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API
from tests.factories import ItemFactory, LotFactory, order_with_lines


def test_a_clerk_creates_reads_updates_and_deletes_an_item(clerk):
    # when
    created = clerk.post(f"{API}items/", {"item_code": "WIDGET", "name": "Widget", "unit_price": "12.50"}, format="json")
    item_id = created.json()["id"]
    changed = clerk.patch(f"{API}items/{item_id}/", {"name": "Blue widget"}, format="json")
    deleted = clerk.delete(f"{API}items/{item_id}/")
    # then
    assert created.status_code == 201
    assert created.json()["unit_price"] == "12.50"
    assert changed.json()["name"] == "Blue widget"
    assert deleted.status_code == 204
    assert clerk.get(f"{API}items/{item_id}/").status_code == 404


def test_a_duplicate_item_code_is_a_400_on_item_code(clerk):
    ItemFactory(item_code="WIDGET")
    response = clerk.post(f"{API}items/", {"item_code": "WIDGET", "name": "Again"}, format="json")
    assert response.status_code == 400
    assert "item_code" in response.json()


def test_items_filter_by_category_and_activity_and_search_code_and_name(viewer):
    ItemFactory(item_code="WIDGET", name="Widget", category="Parts")
    ItemFactory(item_code="GADGET", name="Gadget", category="Parts", is_active=False)
    ItemFactory(item_code="TEA", name="Green tea", category="Beverages")
    codes = lambda query: [row["item_code"] for row in viewer.get(f"{API}items/{query}").json()["results"]]  # noqa: E731
    assert codes("?category=Parts") == ["GADGET", "WIDGET"]
    assert codes("?category=Parts&is_active=true") == ["WIDGET"]
    assert codes("?search=green") == ["TEA"]
    assert codes("?search=GADG") == ["GADGET"]


def test_lots_show_allocated_and_available_quantity(widget_example, allocator):
    allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25"}, format="json")
    rows = {row["reference"]: row for row in allocator.get(f"{API}lots/?item_code=WIDGET").json()["results"]}
    assert (rows["L1"]["allocated_quantity"], rows["L1"]["available_quantity"]) == (100, 0)
    assert (rows["L2"]["allocated_quantity"], rows["L2"]["available_quantity"]) == (50, 0)
    assert (rows["L3"]["allocated_quantity"], rows["L3"]["available_quantity"]) == (30, 70)
    assert rows["L1"]["unit_cost"] == "10.0000"


def test_lots_filter_in_stock_inbound_and_expired_at_a_date(widget_example, viewer):
    LotFactory(reference="OLD", item=widget_example["item"], received_on=date(2025, 12, 1), expires_on=date(2026, 1, 1))
    refs = lambda query: sorted(row["reference"] for row in viewer.get(f"{API}lots/{query}").json()["results"])  # noqa: E731
    assert refs("?in_stock=2026-01-12") == ["L1", "L2", "OLD"]
    assert refs("?inbound=2026-01-12") == ["L3", "L4"]
    assert refs("?expired=2026-01-25") == ["OLD"]
    assert refs("?received_on_after=2026-01-06&received_on_before=2026-01-20") == ["L2", "L3"]


def test_a_bad_filter_date_is_a_400_naming_the_filter(viewer):
    response = viewer.get(f"{API}lots/?in_stock=yesterday")
    assert response.status_code == 400
    assert "in_stock" in response.json()


def test_shrinking_an_allocated_lot_is_a_409_naming_the_orders(widget_example, allocator):
    # given: FIFO takes all of L1 for O1
    allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25"}, format="json")
    lot = widget_example["lots"]["L1"]
    # when
    shrink = allocator.patch(f"{API}lots/{lot.pk}/", {"quantity": 50}, format="json")
    delete = allocator.delete(f"{API}lots/{lot.pk}/")
    grow = allocator.patch(f"{API}lots/{lot.pk}/", {"quantity": 150}, format="json")
    # then
    assert shrink.status_code == 409
    assert shrink.json()["orders"] == ["O1"]
    assert shrink.json()["lot"] == "L1"
    assert delete.status_code == 409
    assert delete.json()["orders"] == ["O1"]
    assert grow.status_code == 200
    assert grow.json()["available_quantity"] == 50


def test_a_lot_nobody_used_can_be_deleted(clerk):
    lot = LotFactory(reference="SPARE")
    assert clerk.delete(f"{API}lots/{lot.pk}/").status_code == 204


def test_a_lot_named_on_a_line_cannot_be_deleted(widget_example, clerk):
    lot = widget_example["lots"]["L3"]
    order_with_lines("O9", date(2026, 1, 21), (widget_example["item"], 5, lot))
    response = clerk.delete(f"{API}lots/{lot.pk}/")
    assert response.status_code == 409
    assert "named on order lines" in response.json()["detail"]


def test_a_lot_is_created_for_an_item_code(clerk):
    ItemFactory(item_code="WIDGET")
    response = clerk.post(f"{API}lots/", {
        "reference": "L9", "item_code": "WIDGET", "quantity": 10, "unit_cost": "9.5", "received_on": "2026-01-05",
    }, format="json")
    assert response.status_code == 201
    assert (response.json()["unit_cost"], response.json()["available_quantity"]) == ("9.5000", 10)


def test_a_lot_of_an_unknown_item_or_of_zero_quantity_is_a_400(clerk):
    ItemFactory(item_code="WIDGET")
    unknown = clerk.post(f"{API}lots/", {"reference": "L9", "item_code": "NOPE", "quantity": 10, "unit_cost": "1"},
                         format="json")
    zero = clerk.post(f"{API}lots/", {"reference": "L9", "item_code": "WIDGET", "quantity": 0, "unit_cost": "1"},
                      format="json")
    assert unknown.status_code == 400 and "item_code" in unknown.json()
    assert zero.status_code == 400 and "quantity" in zero.json()


def test_an_inventory_post_in_the_original_shape_creates_a_lot(clerk):
    ItemFactory(item_code="WIDGET")
    # when
    response = clerk.post(f"{API}inventories/", {
        "item_code": "WIDGET", "quantity": 40, "receipt_date": "2026-01-07", "unit_price": "11.25",
    }, format="json")
    # then
    assert response.status_code == 201
    body = response.json()
    assert body["reference"].startswith("INV-20260107-")
    lot = clerk.get(f"{API}lots/{body['id']}/").json()
    assert (lot["received_on"], lot["unit_cost"], lot["quantity"]) == ("2026-01-07", "11.2500", 40)
    listed = clerk.get(f"{API}inventories/").json()["results"]
    assert listed[0]["receipt_date"] == "2026-01-07" and listed[0]["unit_price"] == "11.2500"
