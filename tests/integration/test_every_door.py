"""Every door keeps the books: each registered ModelAdmin (its forms, delete pages, actions and
import) and each write route of the API refuses a write that would break a rule of the books,
and the refusal changes nothing.

The doors are enumerated from the admin site and the URL configuration, so a door added
later without a case here fails `test_every_*_has_a_case`.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from import_export.admin import ImportMixin

from allocation.models import (
    AllocationResult,
    AllocationRun,
    ClosedPeriod,
    Delivery,
    DeliveryAttempt,
    Event,
    Shipment,
    ShipmentPick,
    WebhookEndpoint,
)
from allocation.services import allocation_run
from allocation.webhooks import webhook_create
from orders.models import Customer, Order, OrderLine, Payment
from stock.models import Item, Lot
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API
from tests.factories import PaymentFactory

AS_OF = date(2026, 1, 25)
BOOKS = (Item, Lot, Customer, Payment, Order, OrderLine, AllocationRun, AllocationResult, ClosedPeriod, Event,
         WebhookEndpoint, Delivery, DeliveryAttempt, Shipment, ShipmentPick)
HOOK = "https://hooks.example.com/books"
# Users, groups and the tokens issued to them are not part of the books; their admins are Django's and simplejwt's.
NOT_BOOKS = {"auth.User", "auth.Group", "token_blacklist.OutstandingToken", "token_blacklist.BlacklistedToken"}


def snapshot() -> dict:
    """Return every row of the books that a write could touch, as plain values."""
    return {
        model._meta.label: sorted(tuple(str(v) for v in row) for row in model.objects.values_list())
        for model in BOOKS
    }


@pytest.fixture
def world(widget_example):
    """The worked example with O1 allocated (L1 100, L2 20), a payment, a webhook endpoint with the run's event on
    its way (a pending delivery), and staff who may do anything."""
    o1 = widget_example["orders"]["O1"]
    endpoint = webhook_create(url=HOOK)
    allocation_run(method="FIFO", orders=[o1], as_of=AS_OF)
    PaymentFactory(customer=o1.customer)
    return {**widget_example, "o1": Order.objects.get(pk=o1.pk), "endpoint": endpoint,
            "delivery": Delivery.objects.get(endpoint=endpoint)}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def refused_with(text: str) -> Callable:
    def check(response) -> None:
        assert any(text in m for m in messages_of(response)), messages_of(response)
    return check


def form_error(field: str) -> Callable:
    def check(response) -> None:
        assert response.status_code == 200, response.status_code
        assert field in response.context["adminform"].form.errors
    return check


def forbidden(response) -> None:
    assert response.status_code == 403


def change_form(obj, **changes) -> dict:
    """Return the fields of an object's admin change form as they are, with `changes`."""
    data = {}
    for field in obj._meta.concrete_fields:
        if field.editable and not field.primary_key and not field.auto_created:
            value = getattr(obj, field.attname)
            data[field.name] = "" if value is None else value
    return {**data, **changes}


# --- the admin: change forms and delete pages, per registered ModelAdmin ------------------------------

def admin_item(client, world):
    return client.post(f"/admin/stock/item/{world['item'].pk}/delete/", {"post": "yes"}, follow=True), \
        refused_with("Item WIDGET has lots or order lines and cannot be deleted")


def admin_lot(client, world):
    l1 = world["lots"]["L1"]
    l1.refresh_from_db()
    return client.post(f"/admin/stock/lot/{l1.pk}/change/", change_form(l1, quantity=50)), form_error("quantity")


def admin_customer(client, world):
    customer = world["o1"].customer
    return client.post(f"/admin/orders/customer/{customer.pk}/delete/", {"post": "yes"}, follow=True), \
        refused_with(f"Customer {customer.code} has orders or payments and cannot be deleted")


def admin_order(client, world):
    o1 = world["o1"]
    line = o1.lines.get()
    data = {**change_form(o1), "lines-TOTAL_FORMS": 1, "lines-INITIAL_FORMS": 1, "lines-MIN_NUM_FORMS": 0,
            "lines-MAX_NUM_FORMS": 1000, "lines-0-id": line.pk, "lines-0-order": o1.pk,
            "lines-0-item": line.item_id, "lines-0-quantity": 10, "lines-0-unit_price": line.unit_price or ""}
    return client.post(f"/admin/orders/order/{o1.pk}/change/", data, follow=True), \
        refused_with("Order O1 holds allocations for 120 units: release them first.")


def admin_payment(client, world):
    payment = Payment.objects.get()
    return client.post(f"/admin/orders/payment/{payment.pk}/change/", change_form(payment, amount="-5")), \
        form_error("__all__")


def admin_webhook(client, world):
    endpoint = world["endpoint"]
    return client.post(f"/admin/allocation/webhookendpoint/{endpoint.pk}/change/",
                       change_form(endpoint, url="ftp://hooks.example.com/books")), form_error("url")


def read_only(url: str) -> Callable:
    def case(client, world):
        model = {"allocationrun": AllocationRun, "allocationresult": AllocationResult, "closedperiod": ClosedPeriod,
                 "event": Event, "delivery": Delivery}[url]
        target = model.objects.first()
        responses = [client.post(f"/admin/allocation/{url}/add/", {}),
                     client.post(f"/admin/allocation/{url}/{target.pk}/change/", {}),
                     client.post(f"/admin/allocation/{url}/{target.pk}/delete/", {"post": "yes"})]
        return responses, lambda rs: [forbidden(r) for r in rs]
    return case


ADMIN_CASES = {
    "stock.Item": admin_item,
    "stock.Lot": admin_lot,
    "orders.Customer": admin_customer,
    "orders.Order": admin_order,
    "orders.Payment": admin_payment,
    "allocation.AllocationRun": read_only("allocationrun"),
    "allocation.AllocationResult": read_only("allocationresult"),
    "allocation.ClosedPeriod": read_only("closedperiod"),
    "allocation.Event": read_only("event"),
    "allocation.Delivery": read_only("delivery"),
    "allocation.WebhookEndpoint": admin_webhook,
}


def test_every_registered_model_admin_has_a_case():
    registered = {model._meta.label for model in admin.site._registry}
    assert registered - NOT_BOOKS == set(ADMIN_CASES)


@pytest.mark.parametrize("label", sorted(ADMIN_CASES))
def test_the_admin_refuses_a_write_that_breaks_the_books_and_changes_nothing(label, admin_client, world, books_balance):
    # given: ClosedPeriod's case makes its own row first, so take the picture after the case's set-up rows
    if label == "allocation.ClosedPeriod":
        ClosedPeriod.objects.create(start=date(2025, 12, 1), end=date(2025, 12, 31))
    before = snapshot()
    # when
    response, check = ADMIN_CASES[label](admin_client, world)
    # then
    check(response)
    assert snapshot() == before
    books_balance()


# --- the admin: list actions, per ModelAdmin and action -------------------------------------------------

def select(*objs) -> dict:
    return {"_selected_action": [o.pk for o in objs], "select_across": "0", "index": 0}


def action_delete(url: str, target: Callable, words: str):
    def case(client, world):
        return client.post(url, {"action": "delete_selected", "post": "yes", **select(target(world))}, follow=True), \
            refused_with(words)
    return case


def action_allocate(client, world):
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    return client.post("/admin/orders/order/allocate/", {
        "method": "FIFO", "policy": "order_date", "as_of": future, "allow_partial": "on", "allow_inbound": "on",
        "allocate": "1", **select(world["orders"]["O2"])}, follow=True), form_error_or_message("future")


def form_error_or_message(text: str) -> Callable:
    def check(response) -> None:
        form = response.context.get("form") if response.context else None
        errors = str(form.errors) if form is not None else ""
        assert text in errors or any(text in m for m in messages_of(response)), (errors, messages_of(response))
    return check


def action_release(client, world):
    # a release of an order with nothing allocated releases nothing: the page says so, and writes nothing
    return client.post("/admin/orders/order/release/", {"confirm": "1", **select(world["orders"]["O2"])}, follow=True), \
        refused_with("Released 0 allocation results (0 units).")


def action_cancel(client, world):
    o2 = world["orders"]["O2"]
    Order.objects.filter(pk=o2.pk).update(status="cancelled")
    return client.post("/admin/orders/order/cancel/", {"confirm": "1", **select(o2)}, follow=True), \
        refused_with("No orders are selected; nothing was changed.")


ACTION_CASES = {
    ("stock.Item", "delete_selected"): action_delete(
        "/admin/stock/item/", lambda w: w["item"], "Item WIDGET has lots or order lines"),
    ("stock.Lot", "delete_selected"): action_delete(
        "/admin/stock/lot/", lambda w: w["lots"]["L1"], "Lot L1 is allocated to orders O1"),
    ("orders.Customer", "delete_selected"): action_delete(
        "/admin/orders/customer/", lambda w: w["o1"].customer, "has orders or payments"),
    ("orders.Payment", "delete_selected"): None,  # deleting a payment breaks no rule of the books
    ("orders.Order", "delete_selected"): action_delete(
        "/admin/orders/order/", lambda w: w["o1"], "Order O1 holds allocations for 120 units: release them first."),
    ("orders.Order", "allocate_orders"): action_allocate,
    ("orders.Order", "release_allocations"): action_release,
    ("orders.Order", "cancel_orders"): action_cancel,
    ("orders.Order", "ship_orders"): lambda client, world: (  # O2 holds nothing: refused in words
        client.post("/admin/orders/order/ship/", {"confirm": "1", **select(world["orders"]["O2"])}, follow=True),
        refused_with("Order O2 has nothing allocated and not shipped.")),
    ("allocation.WebhookEndpoint", "delete_selected"): None,  # deleting an endpoint breaks no rule of the books
    ("allocation.WebhookEndpoint", "redeliver_failed"): lambda client, world: (client.post(
        "/admin/allocation/webhookendpoint/", {"action": "redeliver_failed", **select(world["endpoint"])}, follow=True),
        refused_with("The selected endpoints have no failed deliveries; nothing was sent again.")),
    ("allocation.Delivery", "redeliver_deliveries"): lambda client, world: (client.post(
        "/admin/allocation/delivery/", {"action": "redeliver_deliveries", **select(world["delivery"])}, follow=True),
        refused_with(f"Delivery {world['delivery'].pk} is still pending")),
}


def test_every_admin_action_has_a_case(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    actions = {(model._meta.label, name) for model, model_admin in admin.site._registry.items()
               if model._meta.label not in NOT_BOOKS for name in model_admin.get_actions(request)}
    assert actions == set(ACTION_CASES)


@pytest.mark.parametrize("key", sorted(k for k, case in ACTION_CASES.items() if case))
def test_an_admin_action_refuses_a_write_that_breaks_the_books_and_changes_nothing(key, admin_client, world, books_balance):
    if key[1] == "cancel_orders":  # the case cancels O2 by hand first: that is the state to keep
        Order.objects.filter(pk=world["orders"]["O2"].pk).update(status="cancelled")
    before = snapshot()
    response, check = ACTION_CASES[key](admin_client, world)
    check(response)
    assert snapshot() == before


# --- the admin: imports -----------------------------------------------------------------------------------

IMPORT_CASES = {
    "stock.Item": ("stock/item", b"item_code,name,category,unit_price,unit,is_active\nWIDGET,Widget,,-1,pcs,1\n",
                   "unit_price"),
    "stock.Lot": ("stock/lot",
                  b"reference,item_code,quantity,unit_cost,received_on,eta,expires_on,note\nL1,WIDGET,50,10,2026-01-05,,,\n",
                  "quantity"),
    "orders.Customer": ("orders/customer", b"code,name,email,credit_limit\nNEW,New Co,,-5\n", "credit_limit"),
    "orders.Order": ("orders/order",
                     b"order_number,customer,order_date,priority,item_code,quantity,unit_price,lot\nO1,,2026-01-06,0,WIDGET,99,,\n",
                     "order_number"),
}


def test_every_import_has_a_case():
    importing = {model._meta.label for model, model_admin in admin.site._registry.items()
                 if isinstance(model_admin, ImportMixin)}
    assert importing == set(IMPORT_CASES)


@pytest.mark.parametrize("label", sorted(IMPORT_CASES))
def test_an_import_refuses_a_row_that_breaks_the_books_and_saves_nothing(label, admin_client, world):
    path, content, field = IMPORT_CASES[label]
    before = snapshot()

    response = admin_client.post(f"/admin/{path}/import/", {
        "format": "0", "import_file": SimpleUploadedFile("file.csv", content)})

    result = response.context["result"]
    errors = {key for row in result.invalid_rows for key in row.field_specific_errors}
    errors |= {"__all__" for row in result.invalid_rows if row.non_field_specific_errors}
    assert field in errors or "__all__" in errors, errors
    assert "confirm_form" not in response.context or response.context["confirm_form"] is None
    assert snapshot() == before


# --- the API: every write route ---------------------------------------------------------------------------

WRITE_METHODS = {"post", "put", "patch", "delete"}
NOT_BOOKS_ROUTES = {"token_obtain_pair", "token_refresh", "token_verify"}  # log-ins write no books


def api_write_routes() -> set[tuple[str, str]]:
    """Return (route name, method) for every named API route that accepts a write."""
    routes = set()
    resolver = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and "api/v1" in str(p.pattern))
    for pattern in resolver.url_patterns:
        if not isinstance(pattern, URLPattern) or not pattern.name or "format" in pattern.pattern.regex.groupindex:
            continue
        callback = pattern.callback
        if hasattr(callback, "actions"):
            methods = set(callback.actions)
        else:
            view = callback.view_class
            methods = {m for m in view.http_method_names if hasattr(view, m)}
        routes |= {(pattern.name, method) for method in methods & WRITE_METHODS}
    return routes - {(name, m) for name, m in routes if name in NOT_BOOKS_ROUTES}


def json(client, method: str, url: str, body=None):
    return getattr(client, method)(f"{API}{url}", body, format="json")


def o1_body(world, **changes) -> dict:
    o1 = world["o1"]
    line = o1.lines.get()
    return {"order_number": "O1", "customer": o1.customer_id, "order_date": "2026-01-06", "priority": 0,
            "lines": [{"id": line.pk, "item_code": "WIDGET", "quantity": 10}], **changes}


API_CASES: dict[tuple[str, str], Callable] = {
    ("item-list", "post"): lambda c, w: json(c, "post", "items/", {"item_code": "WIDGET", "name": "again"}),
    ("item-detail", "put"): lambda c, w: json(c, "put", f"items/{w['item'].pk}/",
                                               {"item_code": "WIDGET", "name": "W", "unit_price": "-1"}),
    ("item-detail", "patch"): lambda c, w: json(c, "patch", f"items/{w['item'].pk}/", {"unit_price": "-1"}),
    ("item-detail", "delete"): lambda c, w: json(c, "delete", f"items/{w['item'].pk}/"),
    ("lot-list", "post"): lambda c, w: json(c, "post", "lots/", {"reference": "L1", "item_code": "WIDGET", "quantity": 1,
                                                                   "unit_cost": "1"}),
    ("lot-detail", "put"): lambda c, w: json(c, "put", f"lots/{w['lots']['L1'].pk}/", {
        "reference": "L1", "item_code": "WIDGET", "quantity": 50, "unit_cost": "10", "received_on": "2026-01-05"}),
    ("lot-detail", "patch"): lambda c, w: json(c, "patch", f"lots/{w['lots']['L1'].pk}/", {"quantity": 50}),
    ("lot-detail", "delete"): lambda c, w: json(c, "delete", f"lots/{w['lots']['L1'].pk}/"),
    ("inventory-list", "post"): lambda c, w: json(c, "post", "inventories/", {"item_code": "NOPE", "quantity": 5,
                                                                               "unit_price": "1"}),
    ("customer-list", "post"): lambda c, w: json(c, "post", "customers/", {"code": "X", "name": "X", "credit_limit": "-1"}),
    ("customer-detail", "put"): lambda c, w: json(c, "put", f"customers/{w['o1'].customer_id}/",
                                                   {"code": "X", "name": "X", "credit_limit": "-1"}),
    ("customer-detail", "patch"): lambda c, w: json(c, "patch", f"customers/{w['o1'].customer_id}/", {"contact": "Bob"}),
    ("customer-detail", "delete"): lambda c, w: json(c, "delete", f"customers/{w['o1'].customer_id}/"),
    ("payment-list", "post"): lambda c, w: json(c, "post", "payments/", {"customer": w["o1"].customer_id, "amount": "0",
                                                                          "due_date": "2026-01-31"}),
    ("payment-detail", "put"): lambda c, w: json(c, "put", f"payments/{Payment.objects.get().pk}/", {
        "customer": w["o1"].customer_id, "amount": "-3", "due_date": "2026-01-31"}),
    ("payment-detail", "patch"): lambda c, w: json(c, "patch", f"payments/{Payment.objects.get().pk}/", {"amount": "0"}),
    ("payment-detail", "delete"): lambda c, w: json(c, "delete", "payments/999999/"),  # no rule to break: a 404
    ("order-list", "post"): lambda c, w: json(c, "post", "orders/", {"lines": [
        {"item_code": "WIDGET", "quantity": 0}]}),
    ("order-detail", "put"): lambda c, w: json(c, "put", f"orders/{w['o1'].pk}/", o1_body(w)),
    ("order-detail", "patch"): lambda c, w: json(c, "patch", f"orders/{w['o1'].pk}/", {"status": "open"}),
    ("order-detail", "delete"): lambda c, w: json(c, "delete", f"orders/{w['o1'].pk}/"),
    ("order-release", "post"): lambda c, w: json(c, "post", f"orders/{w['o1'].pk}/release/", {"lot": "NOPE"}),
    ("order-cancel", "post"): lambda c, w: json(c, "post", f"orders/{w['o1'].pk}/cancel/", {"reason": "late"}),
    ("order-ship", "post"): lambda c, w: json(c, "post", f"orders/{w['o1'].pk}/ship/", {
        "lines": [{"line": w["o1"].lines.get().pk, "quantity": 121}]}),  # 120 allocated: a 409
    ("allocate", "post"): lambda c, w: json(c, "post", "allocate/", {
        "method": "FIFO", "orders": [w["orders"]["O2"].pk], "as_of": f"{timezone.localdate() + timedelta(days=2)}"}),
    ("allocate-compare", "post"): lambda c, w: json(c, "post", "allocate/compare/", {
        "orders": [w["orders"]["O2"].pk], "as_of": f"{timezone.localdate() + timedelta(days=2)}"}),
    ("period-close", "post"): lambda c, w: json(c, "post", f"periods/{timezone.localdate():%Y-%m}/close/"),
    ("allocationrun-retry", "post"): lambda c, w: json(c, "post", f"allocation-runs/{AllocationRun.objects.get().pk}/retry/"),
    # webhooks: sent by a client holding the webhook permissions (see the test)
    ("webhook-list", "post"): lambda c, w: json(c, "post", "webhooks/", {"url": "ftp://hooks.example.com/books"}),
    ("webhook-detail", "put"): lambda c, w: json(c, "put", f"webhooks/{w['endpoint'].pk}/", {
        "url": HOOK, "events": ["order.lost"]}),
    ("webhook-detail", "patch"): lambda c, w: json(c, "patch", f"webhooks/{w['endpoint'].pk}/", {
        "failing_since": "2026-01-01T00:00:00Z"}),
    ("webhook-detail", "delete"): lambda c, w: json(c, "delete", "webhooks/999999/"),  # no rule to break: a 404
    ("webhook-rotate", "post"): lambda c, w: json(c, "post", f"webhooks/{w['endpoint'].pk}/rotate/", {
        "secret": "whsec_chosen-by-the-client"}),
    ("webhook-redeliver", "post"): lambda c, w: json(c, "post", f"webhooks/{w['endpoint'].pk}/redeliver/", {
        "deliveries": [w["delivery"].pk]}),  # still pending: a 409
}


def test_every_api_write_route_has_a_case():
    assert api_write_routes() == set(API_CASES)


@pytest.mark.parametrize("route", sorted(API_CASES))
def test_the_api_refuses_a_write_that_breaks_the_books_and_changes_nothing(route, world, allocator, webhook_manager,
                                                                           books_balance):
    # given
    client = webhook_manager if route[0].startswith("webhook") else allocator
    before = snapshot()
    # when
    response = API_CASES[route](client, world)
    # then
    assert response.status_code in (400, 404, 409), (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert snapshot() == before
    books_balance()
