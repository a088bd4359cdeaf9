"""API security: every route needs credentials, groups grant what they say, the token endpoint is throttled."""
from datetime import date

import pytest
from django.urls import URLPattern, URLResolver, reverse
from rest_framework.test import APIClient

from inventory_alloc import api_urls
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API, client_for, user_in
from tests.factories import ItemFactory, order_with_lines

PUBLIC = {"token_obtain_pair", "token_refresh", "token_verify", "schema", "docs", "redoc"}
SAMPLE_KWARGS = {"pk": "1", "run_pk": "1", "webhook_pk": "1", "period": "2026-01", "format": "json"}


def api_routes() -> list[tuple[str, str]]:
    """Return (name, url) for every named route of the API, format-suffixed ones included."""
    routes = []

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                kwargs = {key: SAMPLE_KWARGS[key] for key in pattern.pattern.regex.groupindex}
                routes.append((pattern.name, reverse(pattern.name, kwargs=kwargs)))

    walk(api_urls.urlpatterns)
    return sorted(set(routes))


def test_the_route_walk_covers_every_collection_and_action():
    names = {name for name, _ in api_routes()}
    assert {"item-list", "lot-detail", "inventory-list", "customer-metrics", "payment-list", "order-release",
            "order-cancel", "order-allocations", "allocationresult-list", "allocationrun-detail", "allocate",
            "period-close", "api-root"} <= names


@pytest.mark.parametrize(("name", "url"), [route for route in api_routes() if route[0] not in PUBLIC])
def test_every_api_route_answers_401_without_credentials(db, name, url):
    client = APIClient()
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)(url)
        assert response.status_code == 401, (method, url, response.status_code)
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["detail"]


def test_a_bad_bearer_token_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert client.get(f"{API}items/").status_code == 401


def test_the_schema_and_the_docs_are_public_and_served_without_internet(db):
    client = APIClient()
    schema = client.get(f"{API}schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get(f"{API}docs/")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    assert "/api/v1/allocate/" in schema.json()["paths"]
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html and "cdn.jsdelivr" not in html
    bundle = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert bundle.status_code == 200  # served by whitenoise from the installed package


def test_the_admin_session_also_authenticates(db, client):
    user = user_in("viewer")
    client.force_login(user)
    assert client.get(f"{API}items/").status_code == 200


@pytest.fixture
def example_data(db):
    widget = ItemFactory(item_code="WIDGET")
    from tests.factories import LotFactory

    LotFactory(reference="L1", item=widget, received_on=date(2026, 1, 5))
    return order_with_lines("O1", date(2026, 1, 6), (widget, 5))


def _read(client) -> int:
    return client.get(f"{API}orders/").status_code


def _write(client) -> int:
    return client.post(f"{API}items/", {"item_code": "NEW", "name": "New"}, format="json").status_code


def _allocate(client) -> int:
    return client.post(f"{API}allocate/", {"method": "FIFO", "as_of": "2026-01-25"}, format="json").status_code


@pytest.mark.parametrize(("group", "read", "write", "allocate"), [
    ("viewer", 200, 403, 403),
    ("clerk", 200, 201, 403),
    ("allocator", 200, 201, 201),
    (None, 403, 403, 403),
])
def test_each_group_may_read_write_and_allocate_as_its_permissions_say(example_data, group, read, write, allocate):
    client = client_for(user_in(group))
    assert (_read(client), _write(client), _allocate(client)) == (read, write, allocate)


@pytest.mark.parametrize(("group", "expected"), [("viewer", 403), ("clerk", 403), ("allocator", 200)])
def test_releasing_cancelling_and_closing_need_the_run_allocation_permission(example_data, group, expected):
    client = client_for(user_in(group))
    release = client.post(f"{API}orders/{example_data.pk}/release/", {}, format="json").status_code
    close = client.post(f"{API}periods/2026-01/close/?dry_run=true").status_code
    cancel = client.post(f"{API}orders/{example_data.pk}/cancel/").status_code
    assert (release, close, cancel) == (expected, expected, expected)


def test_a_clerk_edits_orders_and_lots_but_a_viewer_does_not(example_data):
    clerk, viewer = client_for(user_in("clerk")), client_for(user_in("viewer"))
    url = f"{API}orders/{example_data.pk}/"
    assert viewer.patch(url, {"priority": 3}, format="json").status_code == 403
    assert clerk.patch(url, {"priority": 3}, format="json").status_code == 200
    assert viewer.delete(url).status_code == 403


def test_a_login_gives_tokens_that_refresh_and_verify(db):
    user_in("viewer", username="alice")
    client = APIClient()
    tokens = client.post(f"{API}token/", {"username": "alice", "password": "s3cret-pass-123"}, format="json").json()
    refreshed = client.post(f"{API}token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    verified = client.post(f"{API}token/verify/", {"token": tokens["access"]}, format="json")
    assert refreshed.status_code == 200 and refreshed.json()["access"]
    assert verified.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get(f"{API}items/").status_code == 200


def test_the_eleventh_bad_login_in_a_minute_is_throttled(db):
    client = APIClient()
    statuses = [
        client.post(f"{API}token/", {"username": "mallory", "password": f"guess{n}"}, format="json").status_code
        for n in range(11)
    ]
    assert statuses == [401] * 10 + [429]
    assert "Retry-After" in client.post(f"{API}token/", {"username": "x", "password": "y"}, format="json")


def test_the_api_root_lists_the_collections_for_any_signed_in_user(db):
    response = client_for(user_in(None)).get(API)
    assert response.status_code == 200
    assert {"items", "lots", "orders", "allocation-results"} <= set(response.json())
