"""The one exception handler: domain and database errors become 400/404/409 JSON, never a 500."""
import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError

from allocation.domain import Conflict, InsufficientStock, InvalidInput, LotOverAllocated, NotFound, Shortfall
from inventory_alloc.exceptions import exception_handler
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API
from tests.factories import ItemFactory


def handle(error: Exception):
    return exception_handler(error, {})


def test_invalid_input_is_a_400_naming_the_field():
    response = handle(InvalidInput("Not a policy.", field="policy"))
    assert (response.status_code, response.data["policy"], response.data["detail"]) == (400, ["Not a policy."], "Not a policy.")


def test_not_found_is_a_404_and_a_conflict_a_409_with_its_data():
    assert handle(NotFound("No order 9.", orders=[9])).status_code == 404
    response = handle(Conflict("Busy.", order="O1"))
    assert (response.status_code, response.data["order"], response.data["code"]) == (409, "O1", "conflict")


def test_a_lot_over_allocated_names_the_orders():
    response = handle(LotOverAllocated("L1", 100, ["O1", "O2"]))
    assert (response.status_code, response.data["orders"], response.data["lot"]) == (409, ["O1", "O2"], "L1")


def test_insufficient_stock_carries_the_shortfall_per_line(db):
    widget = ItemFactory(item_code="WIDGET")
    response = handle(InsufficientStock([Shortfall(7, widget.pk, 300, 250, "not enough stock")],
                                        item_codes={widget.pk: "WIDGET"}))
    assert response.status_code == 409
    assert response.data["shortfalls"] == [
        {"line": 7, "item_code": "WIDGET", "requested": 300, "allocated": 250, "short": 50, "reason": "not enough stock"},
    ]


@pytest.mark.parametrize(("error", "status"), [
    (ValidationError({"quantity": ["Too small."]}), 400),
    (IntegrityError("duplicate key"), 409),
    (DataError("numeric field overflow"), 400),
    (OverflowError("int too large"), 400),
])
def test_django_and_database_errors_are_client_errors(error, status):
    response = handle(error)
    assert response.status_code == status
    if status == 400 and isinstance(error, ValidationError):
        assert response.data == {"quantity": ["Too small."]}


def test_an_unknown_api_path_is_a_json_404(db, clerk):
    response = clerk.get(f"{API}no-such-thing/")
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."


def test_a_malformed_json_body_is_a_400(clerk):
    response = clerk.generic("POST", f"{API}items/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_a_list_body_where_an_object_is_expected_is_a_400(allocator):
    assert allocator.post(f"{API}allocate/", [1, 2], format="json").status_code == 400
    assert allocator.post(f"{API}items/", [1, 2], format="json").status_code == 400
    assert allocator.post(f"{API}orders/", [1, 2], format="json").status_code == 400
    assert allocator.post(f"{API}periods/2026-01/close/", [1, 2], format="json").status_code == 400


def test_huge_numbers_are_a_400_not_a_500(clerk):
    ItemFactory(item_code="WIDGET")
    response = clerk.post(f"{API}lots/", {"reference": "BIG", "item_code": "WIDGET", "quantity": 10**30,
                                           "unit_cost": "1e30"}, format="json")
    assert response.status_code == 400
    assert {"quantity", "unit_cost"} <= set(response.json())


@pytest.mark.parametrize("query", [
    "allocation-results/?order=99999999999999999999999",
    "allocation-results/?run=1.5&lot=%00",
    "orders/?page=999",
    "orders/not-a-number/",
    "lots/?in_stock=0000-00-00",
    "orders/?page_size=abc",
])
def test_odd_queries_are_answered_without_a_server_error(viewer, query):
    response = viewer.get(f"{API}{query}")
    assert response.status_code in (200, 400, 404)
    assert response["Content-Type"] == "application/json"
