"""End to end over HTTP: log in, create the data, allocate with every method, read, release, close a period."""
from rest_framework.test import APIClient

from allocation.models import Method
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API, user_in

LOTS = [  # ALLOCATION.md's worked example, entered through the API
    {"reference": "L1", "item_code": "WIDGET", "quantity": 100, "unit_cost": "10.0000", "received_on": "2026-01-05"},
    {"reference": "L2", "item_code": "WIDGET", "quantity": 50, "unit_cost": "13.0000", "received_on": "2026-01-10"},
    {"reference": "L3", "item_code": "WIDGET", "quantity": 100, "unit_cost": "11.5000", "received_on": "2026-01-20"},
    {"reference": "L4", "item_code": "WIDGET", "quantity": 200, "unit_cost": "12.0000", "eta": "2026-02-10"},
]
O1_AMOUNTS = {  # O1's result amounts per method (ALLOCATION.md; FEFO is FIFO here, LAST_PURCHASE uses L3's cost)
    "FIFO": ["1000.00", "260.00"], "LIFO": ["1150.00", "260.00"], "AVERAGE": ["1120.00", "224.00"],
    "MOVING_AVERAGE": ["1120.00", "224.00"], "TOTAL_AVERAGE": ["1120.00", "224.00"], "FEFO": ["1000.00", "260.00"],
    "LAST_PURCHASE": ["1150.00", "230.00"], "SPECIFIC": ["1150.00"],  # SPECIFIC: only L3 (100 of 120)
}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.json()


def test_a_client_does_the_whole_job_through_the_http_api(db):
    # given: an allocator account, and nothing else
    user_in("allocator", username="alloc")
    client = APIClient()
    # when: log in with a password, then use the bearer token
    tokens = ok(client.post(f"{API}token/", {"username": "alloc", "password": "s3cret-pass-123"}, format="json"))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    # create the item, its lots, a customer and two orders
    ok(client.post(f"{API}items/", {"item_code": "WIDGET", "name": "Widget", "unit_price": "25.00"}, format="json"), 201)
    for lot in LOTS:
        ok(client.post(f"{API}lots/", lot, format="json"), 201)
    customer = ok(client.post(f"{API}customers/", {"code": "ACME", "name": "Acme"}, format="json"), 201)
    o1 = ok(client.post(f"{API}orders/", {"order_number": "O1", "customer": customer["id"], "order_date": "2026-01-06",
                                          "lines": [{"item_code": "WIDGET", "quantity": 120}]}, format="json"), 201)
    o2 = ok(client.post(f"{API}orders/", {"order_id": "O2", "item_code": "WIDGET", "quantity": 60,
                                          "order_date": "2026-01-12", "customer": customer["id"]}, format="json"), 201)
    orders = [o1["id"], o2["id"]]

    # allocate O1 and O2 with every method, read the results, release, and go again
    for method in [m for m in Method.values if m != "TOTAL_AVERAGE"] + ["TOTAL_AVERAGE"]:
        if method == "SPECIFIC":  # specific identification needs the lot named on the line
            line = o1["lines"][0]["id"]
            ok(client.patch(f"{API}orders/{o1['id']}/", {"lines": [{"id": line, "item_code": "WIDGET", "quantity": 120,
                                                                     "lot": "L3"}]}, format="json"))
        body = ok(client.post(f"{API}allocate/", {"method": method, "orders": orders, "as_of": "2026-01-25"},
                              format="json"), 201)
        results = ok(client.get(f"{API}allocation-results/?run={body['run']['id']}&order={o1['id']}"))["results"]
        assert [r["allocated_price"] for r in results] == O1_AMOUNTS[method], method
        if method != "TOTAL_AVERAGE":  # the last one stays, for the period close
            for order in orders:
                ok(client.post(f"{API}orders/{order}/release/", {}, format="json"))
            assert ok(client.get(f"{API}lots/?item_code=WIDGET&in_stock=2026-01-25"))["results"][0]["allocated_quantity"] == 0

    # then: the TOTAL_AVERAGE allocation stands; January is closed and its picks get their final cost
    closed = ok(client.post(f"{API}periods/2026-01/close/", {}, format="json"), 201)
    assert closed["averages"] == {"WIDGET": "11.2000"}
    assert {r["new_unit_cost"] for r in closed["recosted"]} == {"11.2000"}
    held = ok(client.get(f"{API}orders/{o1['id']}/allocations/"))["results"]
    active = [r for r in held if r["released_at"] is None]
    assert [(r["lot"], r["method"], r["cost_final"]) for r in active] == [("L1", "TOTAL_AVERAGE", True),
                                                                          ("L2", "TOTAL_AVERAGE", True)]
    assert ok(client.get(f"{API}orders/{o1['id']}/"))["status"] == "allocated"
