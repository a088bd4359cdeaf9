"""Strict input through the API: unknown fields and parameters, read-only values, trailing slashes, one shape.

The routes are enumerated from `inventory_alloc.api_urls`, so a route added later
without strict input or without its slashless twin makes a test here fail.
"""
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from rest_framework_simplejwt.tokens import RefreshToken

from allocation.models import AllocationResult, AllocationRun, Event
from allocation.webhooks import webhook_create
from inventory_alloc import api_urls
from inventory_alloc.strict import filter_parameters
from orders.models import Customer, Order, OrderLine
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API
from tests.factories import CustomerFactory, ItemFactory, PaymentFactory

WRITES = ("post", "put", "patch")
DOCUMENTATION = {"schema", "docs", "redoc"}  # drf-spectacular's pages read their own parameters (lang, format)
ROUTES = {p.name: p for p in api_urls.urlpatterns if p.name and "format" not in p.pattern.regex.groupindex}
LISTS = [(basename, viewset) for _prefix, viewset, basename in api_urls.router.registry if hasattr(viewset, "list")]
UNKNOWN_PARAMETER, UNKNOWN_FIELD = "Unknown query parameter. Known parameters: ", "Unknown field. Known fields: "


def methods_of(name: str) -> list[str]:
    """Return the HTTP methods the named route answers (its viewset actions, or its APIView handlers)."""
    callback = ROUTES[name].callback
    actions = getattr(callback, "actions", None)
    return [m for m in ("get", "post", "put", "patch", "delete") if (m in actions if actions else hasattr(callback.cls, m))]


def database_rows(*leaving_out: str) -> dict[str, list[dict]]:
    """Return every row of the stock, orders and allocation models, less the columns named."""
    return {model._meta.label: [{key: value for key, value in row.items() if key not in leaving_out}
                                for row in model.objects.order_by("pk").values()]
            for label in ("stock", "orders", "allocation") for model in apps.get_app_config(label).get_models()}


def listed(message: str, prefix: str) -> set[str]:
    """Return the names a message lists after `prefix` (failing if it does not start with it)."""
    assert message.startswith(prefix), message
    return set(message.removeprefix(prefix).removesuffix(".").split(", "))


@pytest.fixture
def shop(widget_example, allocator):
    """WIDGET, L1-L4, O1 allocated (FIFO), O2 open, customer ACME with a payment, a webhook endpoint (the allocator
    may manage webhooks too); `objects`: one per model."""
    acme = CustomerFactory(code="ACME", name="Acme", address="1 Main Street", notes="Calls first")
    ItemFactory(item_code="GADGET")
    endpoint = webhook_create(url="https://hooks.example.com/strict")
    User.objects.get(username="allocator-user").user_permissions.add(
        *Permission.objects.filter(content_type__app_label="allocation", codename__endswith="_webhookendpoint"))
    response = allocator.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25",
                                                  "orders": [widget_example["orders"]["O1"].pk]}, format="json")
    assert response.status_code == 201, response.json()
    objects = {
        "stock.Item": widget_example["item"], "stock.Lot": widget_example["lots"]["L1"], "orders.Customer": acme,
        "orders.Payment": PaymentFactory(customer=acme), "orders.Order": widget_example["orders"]["O2"],
        "allocation.AllocationRun": AllocationRun.objects.get(), "allocation.AllocationResult": AllocationResult.objects.first(),
        "allocation.Event": Event.objects.first(), "allocation.WebhookEndpoint": endpoint,
    }
    return {**widget_example, "customer": acme, "objects": objects}


@pytest.fixture
def path_of(shop):
    """Return the path of a named route, `{pk}` an object of the route's model and `{period}` 2026-01."""
    def path(name: str) -> str:
        view = ROUTES[name].callback.cls
        return reverse(name, kwargs={
            group: "2026-01" if group == "period" else
            shop["objects"]["allocation.AllocationRun"].pk if group == "run_pk" else
            shop["objects"]["allocation.WebhookEndpoint"].pk if group == "webhook_pk" else
            shop["objects"][view.queryset.model._meta.label].pk
            for group in ROUTES[name].pattern.regex.groupindex})
    return path


@pytest.fixture
def body_of(shop, allocator):
    """Return a valid body for a request to a named route (a PUT sends back what GET shows)."""
    user = User.objects.get(username="allocator-user")
    creates = {
        "item": {"item_code": "DOOHICKEY", "name": "Doohickey", "unit_price": "5.00"},
        "lot": {"reference": "L9", "item_code": "WIDGET", "quantity": 10, "unit_cost": "9", "received_on": "2026-01-30"},
        "inventory": {"item_code": "WIDGET", "quantity": 10, "unit_price": "9.50"},
        "customer": {"code": "BETA", "name": "Beta"},
        "payment": {"customer": shop["customer"].pk, "amount": "10.00", "due_date": "2026-02-28"},
        "order": {"order_number": "O9", "lines": [{"item_code": "WIDGET", "quantity": 3}]},
        "webhook": {"url": "https://hooks.example.com/new", "events": ["order.short"]},
    }
    changes = {"item": {"name": "Blue widget"}, "lot": {"note": "counted"}, "customer": {"name": "Acme Ltd"},
               "payment": {"amount": "20.00"}, "order": {"priority": 5}, "webhook": {"description": "ERP"}}
    others = {"allocate": {"method": "FIFO", "as_of": "2026-01-25"},
              "token_obtain_pair": {"username": user.username, "password": "s3cret-pass-123"},
              "token_refresh": {"refresh": str(RefreshToken.for_user(user))},
              "token_verify": {"token": str(RefreshToken.for_user(user).access_token)}}

    def body(name: str, method: str, path: str) -> dict:
        basename, _, kind = name.rpartition("-")
        if method == "put":
            return allocator.get(path).json()
        if method == "patch":
            return dict(changes.get(basename, {}))
        return dict(creates.get(basename, {}) if (method, kind) == ("post", "list") else others.get(name, {}))
    return body


# --- unknown query parameters -------------------------------------------------------------------

@pytest.mark.parametrize(("basename", "viewset"), LISTS, ids=[basename for basename, _ in LISTS])
def test_a_list_refuses_an_unknown_query_parameter_and_names_the_known_ones(path_of, allocator, basename, viewset):
    response = allocator.get(f"{path_of(basename + '-list')}?colour=blue&page_size=10")
    assert (response.status_code, list(response.json())) == (400, ["colour"])
    expected = filter_parameters(viewset.filterset_class) | {"page", "page_size", "format"}
    expected |= {"offset"} if hasattr(viewset.pagination_class, "offset_query_param") else set()
    expected |= {"search"} if getattr(viewset, "search_fields", None) else set()
    assert listed(response.json()["colour"][0], UNKNOWN_PARAMETER) == expected


@pytest.mark.parametrize(("basename", "viewset"), LISTS, ids=[basename for basename, _ in LISTS])
def test_a_list_accepts_every_parameter_of_its_filters(shop, path_of, allocator, basename, viewset):
    # given: a plausible value per kind of filter (a range filter reads <name>_after and <name>_before)
    base = viewset.filterset_class.base_filters
    plausible = {"BooleanFilter": "true", "NumberFilter": "1", "DateFilter": "2026-01-10", "CharFilter": "WIDGET",
                 "DateFromToRangeFilter": "2026-01-10", "ModelChoiceFilter": str(shop["customer"].pk)}
    search = {"search": "W"} if getattr(viewset, "search_fields", None) else {}
    # when
    path = path_of(f"{basename}-list")
    answers = {"page, format": allocator.get(path, {"page": 1, "page_size": 5, "format": "json", **search})}
    for parameter in sorted(filter_parameters(viewset.filterset_class)):
        declared = base.get(parameter) or base[parameter.rpartition("_")[0]]
        kind = type(declared).__name__
        value = declared.extra["choices"][0][0] if kind == "ChoiceFilter" else plausible[kind]
        answers[parameter] = allocator.get(path, {parameter: value})
    # then
    assert {name: response.status_code for name, response in answers.items()} == dict.fromkeys(answers, 200)
    ranges = [name for name, declared in base.items() if type(declared).__name__ == "DateFromToRangeFilter"]
    assert {f"{name}_{end}" for name in ranges for end in ("after", "before")} <= set(answers)


@pytest.mark.parametrize("name", [name for name in ROUTES if "get" in methods_of(name) and name not in DOCUMENTATION])
def test_every_get_route_refuses_an_unknown_query_parameter(path_of, allocator, name):
    response = allocator.get(path_of(name), {"colour": "blue"})
    assert (response.status_code, list(response.json())) == (400, ["colour"])
    assert "format" in listed(response.json()["colour"][0], UNKNOWN_PARAMETER)


@pytest.mark.parametrize("name", [name for name in ROUTES if "get" in methods_of(name) and name not in DOCUMENTATION])
def test_every_get_route_refuses_a_query_parameter_given_twice(path_of, allocator, name):
    response = allocator.get(f"{path_of(name)}?format=json&format=json")
    assert (response.status_code, response.json()) == (400, {"format": ["Give this parameter once."]})


# --- unknown body fields ------------------------------------------------------------------------

WRITE_ROUTES = [(name, method) for name in ROUTES for method in methods_of(name)
                if method in WRITES and not name.startswith("token_")]  # a token request writes nothing


@pytest.mark.parametrize(("name", "method"), WRITE_ROUTES, ids=[f"{m.upper()} {n}" for n, m in WRITE_ROUTES])
def test_a_write_with_an_unknown_field_is_a_400_naming_it_and_changes_nothing(path_of, body_of, allocator, name, method):
    # given: a body that would be a valid write without its unknown field
    path = path_of(name)
    body = {**body_of(name, method, path), "colour": "blue"}
    before = database_rows()
    # when
    response = getattr(allocator, method)(path, body, format="json")
    # then
    assert (response.status_code, list(response.json())) == (400, ["colour"])
    assert response.json()["colour"][0].startswith(UNKNOWN_FIELD)
    assert database_rows() == before


def test_an_unknown_field_of_an_order_line_is_named_under_its_line_with_the_line_fields(shop, clerk):
    before = database_rows()
    response = clerk.post(f"{API}orders/", {"order_number": "O9", "lines": [
        {"item_code": "WIDGET", "quantity": 1}, {"item_code": "WIDGET", "quantity": 2, "colour": "blue"},
    ]}, format="json")
    assert (response.status_code, list(response.json()), list(response.json()["lines"])) == (400, ["lines"], ["1"])
    assert listed(response.json()["lines"]["1"]["colour"][0], UNKNOWN_FIELD) == {
        "id", "item_code", "quantity", "unit_price", "lot"}
    assert database_rows() == before


def test_a_period_close_whose_body_is_not_an_object_is_a_400_and_closes_nothing(shop, allocator):
    before = database_rows()
    response = allocator.post(f"{API}periods/2026-01/close/", [{"dry_run": True}], format="json")
    assert response.status_code == 400
    assert database_rows() == before


def test_a_flat_order_with_an_order_id_and_another_order_number_is_a_400(shop, clerk):
    response = clerk.post(f"{API}orders/", {"order_id": "A", "order_number": "B", "item_code": "WIDGET",
                                            "quantity": 1}, format="json")
    assert response.status_code == 400 and "order_id" in response.json()


# --- trailing slashes ---------------------------------------------------------------------------

def answer(client, method: str, path: str, body: dict) -> int:
    """Return the status of one request, then undo whatever it wrote (so that its twin meets the same rows)."""
    cache.clear()  # the token throttle counts requests
    client.raise_request_exception = False
    with transaction.atomic():
        response = getattr(client, method)(path, body, format="json") if method in WRITES else getattr(client, method)(path)
        transaction.set_rollback(True)
    return response.status_code


@pytest.mark.parametrize("name", list(ROUTES))
def test_every_route_answers_the_same_with_and_without_its_trailing_slash(path_of, body_of, allocator, name):
    # given
    path = path_of(name)
    assert path.endswith("/")
    # when
    answers = {}
    for method in [*methods_of(name), *(["head"] if "get" in methods_of(name) else []), "options"]:
        body = body_of(name, method, path)
        answers[method] = (answer(allocator, method, path, body), answer(allocator, method, path.rstrip("/"), body))
    # then
    assert all(with_slash == without_slash for with_slash, without_slash in answers.values()), answers
    assert not any(300 <= with_slash < 400 for with_slash, _ in answers.values()), answers
    assert all(with_slash not in (404, 405) and with_slash < 500
               for method, (with_slash, _) in answers.items() if method != "options"), answers


@pytest.mark.parametrize("name", list(ROUTES))
def test_every_route_answers_options_without_a_server_error(path_of, allocator, name):
    allocator.raise_request_exception = False
    response = allocator.options(path_of(name))
    if name in ("docs", "redoc"):  # HTML pages: GET and HEAD only
        assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    else:
        assert response.status_code == 200 and "OPTIONS" in response["Allow"]


def test_an_order_posted_without_the_trailing_slash_is_created(shop, clerk):
    before = Order.objects.count()
    response = clerk.post(API + "orders", {"order_number": "O9", "lines": [{"item_code": "WIDGET", "quantity": 3}]},
                          format="json")
    assert response.status_code == 201, response.json()
    assert Order.objects.count() == before + 1
    assert Order.objects.get(order_number="O9").lines.get().quantity == 3


def test_the_next_page_link_keeps_the_trailing_slash_when_asked_without(shop, viewer):
    with_slash = viewer.get(f"{API}lots/", {"page_size": 1}).json()["next"]
    without_slash = viewer.get(f"{API}lots", {"page_size": 1}).json()["next"]
    assert with_slash == "http://testserver/api/v1/lots/?page=2&page_size=1"
    assert without_slash == with_slash


# --- read-only fields: sent back unchanged, or refused ------------------------------------------

DETAILS = {"item": "stock.Item", "lot": "stock.Lot", "customer": "orders.Customer", "payment": "orders.Payment",
           "order": "orders.Order"}


@pytest.mark.parametrize("basename", list(DETAILS))
def test_what_get_returned_can_be_put_back_and_changes_nothing(shop, allocator, basename):
    # given
    path = reverse(f"{basename}-detail", kwargs={"pk": shop["objects"][DETAILS[basename]].pk})
    shown = allocator.get(path).json()
    before = database_rows("updated_at")  # a save stamps it (see the next test)
    # when
    response = allocator.put(path, shown, format="json")
    # then
    assert response.status_code == 200, response.json()
    assert {**response.json(), "updated_at": None} == {**shown, "updated_at": None}
    assert database_rows("updated_at") == before


def test_the_same_put_sent_twice_answers_200_both_times(shop, allocator):
    path = reverse("order-detail", kwargs={"pk": shop["orders"]["O2"].pk})
    shown = allocator.get(path).json()
    assert [allocator.put(path, shown, format="json").status_code for _ in range(2)] == [200, 200]


@pytest.mark.parametrize(("basename", "field", "sent", "hint"), [
    ("item", "id", 999_999, "Read only"),
    ("lot", "allocated_quantity", 0, "POST allocate/"),
    ("lot", "available_quantity", 1, "quantity - allocated_quantity"),
    ("lot", "item", 999_999, "set `item_code` instead"),
    ("customer", "id", 999_999, "Read only"),
    ("payment", "is_overdue", False, "Read only"),
    ("order", "status", "allocated", "POST orders/{id}/cancel/"),
    ("order", "customer_code", "ZZZ", "set `customer`"),
    ("order", "total_amount", "1.00", "sum of the lines' subtotals"),
])
def test_a_read_only_field_with_another_value_is_a_400_with_a_hint_and_changes_nothing(
        shop, body_of, allocator, basename, field, sent, hint):
    # given: a valid change, and a read-only field with a value other than the one shown
    path = reverse(f"{basename}-detail", kwargs={"pk": shop["objects"][DETAILS[basename]].pk})
    assert allocator.get(path).json()[field] != sent
    before = database_rows()
    # when
    response = allocator.patch(path, {**body_of(f"{basename}-detail", "patch", path), field: sent}, format="json")
    # then
    assert (response.status_code, list(response.json())) == (400, [field])
    assert hint in response.json()[field][0]
    assert database_rows() == before


@pytest.mark.parametrize(("field", "sent", "hint"), [
    ("subtotal", "1.00", "quantity × unit_price"), ("allocated_quantity", 5, "POST allocate/"),
])
def test_a_read_only_line_field_with_another_value_is_a_400_under_its_line(shop, allocator, field, sent, hint):
    path = reverse("order-detail", kwargs={"pk": shop["orders"]["O2"].pk})
    line = allocator.get(path).json()["lines"][0]
    before = database_rows()
    response = allocator.patch(path, {"lines": [{**line, field: sent, "quantity": 7}]}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["lines"])
    assert hint in response.json()["lines"]["0"][field][0]
    assert database_rows() == before


# --- one answer shape; customers' address and notes; order totals -------------------------------

def test_post_put_and_patch_of_an_order_answer_what_get_shows(shop, clerk):
    # given
    body = {"order_number": "O9", "customer": shop["customer"].pk, "lines": [
        {"item_code": "WIDGET", "quantity": 3, "unit_price": "1.50"}, {"item_code": "WIDGET", "quantity": 1, "lot": "L2"},
    ]}
    # when: each write is followed by a GET of the order
    posted = clerk.post(f"{API}orders/", body, format="json")
    path = reverse("order-detail", kwargs={"pk": posted.json()["id"]})
    after_post = clerk.get(path).json()
    put, after_put = clerk.put(path, {**after_post, "priority": 3}, format="json"), clerk.get(path).json()
    patched, after_patch = clerk.patch(path, {"note": "rush"}, format="json"), clerk.get(path).json()
    # then
    assert (posted.status_code, put.status_code, patched.status_code) == (201, 200, 200)
    assert (posted.json(), put.json(), patched.json()) == (after_post, after_put, after_patch)  # keys and values
    assert {"customer_code", "total_amount"} <= set(posted.json())
    assert {"allocated_quantity", "subtotal"} <= set(posted.json()["lines"][0]) == set(patched.json()["lines"][1])


def test_a_customers_address_and_notes_are_written_and_read_back(clerk):
    address = "2 Side Street\nSpringfield"
    created = clerk.post(f"{API}customers/", {"code": "BETA", "name": "Beta", "address": address,
                                               "notes": "Deliver mornings"}, format="json")
    path = reverse("customer-detail", kwargs={"pk": created.json()["id"]})
    changed = clerk.patch(path, {"notes": "Deliver afternoons"}, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["address"], created.json()["notes"]) == (address, "Deliver mornings")
    assert (changed.json()["address"], changed.json()["notes"]) == (address, "Deliver afternoons")
    assert Customer.objects.values_list("address", "notes").get(code="BETA") == (address, "Deliver afternoons")


def test_an_order_shows_each_lines_subtotal_and_their_sum_to_the_cent(shop, clerk):
    # given: prices a binary float gets wrong (7 × 0.15 = 1.0499999…), and one left to the item's (20.00)
    lines = [{"item_code": "WIDGET", "quantity": 7, "unit_price": "0.15"}, {"item_code": "WIDGET", "quantity": 2},
             {"item_code": "WIDGET", "quantity": 3, "unit_price": "33.33"},
             {"item_code": "WIDGET", "quantity": 1, "unit_price": "0.10"}]
    # when
    created = clerk.post(f"{API}orders/", {"order_number": "O9", "lines": lines}, format="json").json()
    path = reverse("order-detail", kwargs={"pk": created["id"]})
    changed = clerk.patch(path, {"lines": [{**created["lines"][0], "quantity": 9}, *created["lines"][1:]]},
                          format="json").json()
    # then
    assert [line["subtotal"] for line in created["lines"]] == ["1.05", "40.00", "99.99", "0.10"]
    assert created["total_amount"] == "141.14"
    assert (changed["lines"][0]["subtotal"], changed["total_amount"]) == ("1.35", "141.44")
    assert clerk.get(f"{API}orders/", {"search": "O9"}).json()["results"][0]["total_amount"] == "141.44"


@pytest.mark.parametrize(("quantity", "unit_price", "subtotal"), [
    (1, "0.125", "0.13"), (1, "0.135", "0.14"), (3, "2.675", "8.03"), (1, "2.665", "2.67"),
])
def test_a_line_subtotal_rounds_half_up_to_the_cent(quantity, unit_price, subtotal):
    assert OrderLine(quantity=quantity, unit_price=Decimal(unit_price)).subtotal == Decimal(subtotal)
