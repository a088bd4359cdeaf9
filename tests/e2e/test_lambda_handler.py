"""The whole app through Zappa's Lambda handler, fed API Gateway (REST, v1 proxy) events for the dev stage.

Runs on the test database of the pass (SQLite or PostgreSQL).
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from allocation.models import AllocationRun, RunStatus
from tests.api_support import user_in
from tests.e2e.lambda_support import (
    ORIGIN,
    LambdaContext,
    api_event,
    body_of,
    cookie_header,
    cookies_of,
    form_event,
    header,
    json_event,
    json_of,
    set_cookie_lines,
)


@pytest.fixture
def invoke(lambda_handler, db):
    """Return a function that hands one event to the handler, as Lambda does, and returns its answer."""
    from django.core.cache import cache

    cache.clear()  # the token throttle counts per client IP in the local-memory cache

    def invoke(event: dict) -> dict:
        return lambda_handler.handler(event, LambdaContext())

    return invoke


def token_for(invoke, username: str, password: str) -> str:
    response = invoke(json_event("POST", "/api/v1/token/", {"username": username, "password": password}))
    assert response["statusCode"] == 200, body_of(response)
    return json_of(response)["access"]


def test_migrate_runs_through_the_handler_as_zappa_manage_does(invoke, capsys):
    # when
    result = invoke({"manage": "migrate --noinput"})

    # then: Django's migrate ran against this pass's database, which the test run already migrated
    assert result == {}
    assert "No migrations to apply." in capsys.readouterr().out


def test_a_jwt_login_then_lists_orders_with_the_token(invoke, widget_example):
    # given
    user_in("viewer", username="vera")

    # when
    token = token_for(invoke, "vera", "s3cret-pass-123")
    response = invoke(api_event("GET", "/api/v1/orders/", headers={"Authorization": f"Bearer {token}"}))

    # then
    assert response["statusCode"] == 200
    numbers = sorted(order["order_number"] for order in json_of(response)["results"])
    assert numbers == ["O1", "O2"]
    assert header(response, "Content-Type") == "application/json"


def test_a_wrong_password_gets_no_token(invoke, db):
    user_in("viewer", username="vera")

    response = invoke(json_event("POST", "/api/v1/token/", {"username": "vera", "password": "wrong"}))

    assert response["statusCode"] == 401
    assert "access" not in json_of(response)


def test_a_json_post_allocates_with_fifo(invoke, widget_example):
    # given
    user_in("allocator", username="alice")
    token = token_for(invoke, "alice", "s3cret-pass-123")
    orders = [widget_example["orders"]["O1"].pk, widget_example["orders"]["O2"].pk]

    # when
    response = invoke(json_event("POST", "/api/v1/allocate/", {"method": "FIFO", "orders": orders, "as_of": "2026-01-31"},
                                 token=token))

    # then: O1 takes L1 100 @10 + L2 20 @13; O2 takes L2 30 @13 + L3 30 @11.5 (ALLOCATION.md)
    assert response["statusCode"] == 201, body_of(response)
    body = json_of(response)
    assert body["run"]["status"] == RunStatus.DONE
    picks = [(r["order_number"], r["lot"], r["allocated_quantity"], r["allocated_price"]) for r in body["results"]]
    assert picks == [("O1", "L1", 100, "1000.00"), ("O1", "L2", 20, "260.00"), ("O2", "L2", 30, "390.00"),
                     ("O2", "L3", 30, "345.00")]
    assert AllocationRun.objects.get().allocated_amount == Decimal("1995.00")


def test_a_base64_encoded_json_post_is_decoded(invoke, widget_example):
    # given
    user_in("allocator", username="alice")
    token = token_for(invoke, "alice", "s3cret-pass-123")
    data = {"method": "LIFO", "orders": [widget_example["orders"]["O1"].pk], "as_of": "2026-01-31"}

    # when: API Gateway passes bodies of binary media types base64-encoded
    event = json_event("POST", "/api/v1/allocate/", data, token=token, base64_body=True)
    response = invoke(event)

    # then: LIFO at 2026-01-31 takes the newest lot in stock first: L3 100, then L2 20
    assert event["isBase64Encoded"] is True
    assert response["statusCode"] == 201, body_of(response)
    picks = [(r["lot"], r["allocated_quantity"]) for r in json_of(response)["results"]]
    assert picks == [("L3", 100), ("L2", 20)]


def test_an_unknown_method_is_a_400_naming_the_field(invoke, db):
    user_in("allocator", username="alice")
    token = token_for(invoke, "alice", "s3cret-pass-123")

    response = invoke(json_event("POST", "/api/v1/allocate/", {"method": "NOPE"}, token=token))

    assert response["statusCode"] == 400
    assert "method" in json_of(response)
    assert not AllocationRun.objects.exists()


def test_an_unknown_path_is_a_404(invoke, db):
    user_in("viewer", username="vera")
    token = token_for(invoke, "vera", "s3cret-pass-123")

    response = invoke(api_event("GET", "/api/v1/orders/987654/", headers={"Authorization": f"Bearer {token}"}))
    missing_page = invoke(api_event("GET", "/no-such-page/"))

    assert response["statusCode"] == 404
    assert missing_page["statusCode"] == 404


def test_the_admin_login_page_keeps_the_stage_prefix_in_links_and_static_files(invoke, db):
    response = invoke(api_event("GET", "/admin/login/", query={"next": "/dev/admin/"}))

    assert response["statusCode"] == 200
    html = body_of(response).decode()
    assert 'action="/dev/admin/login/?next=%2Fdev%2Fadmin%2F"' in html
    assert 'href="/dev/static/unfold/css/styles.css"' in html and 'href="/dev/static/backoffice/backoffice.css"' in html
    assert "csrftoken" in cookies_of(response)


def test_an_admin_logs_in_with_the_csrf_cookie_and_token_and_sees_the_index(invoke, db):
    # given
    User.objects.create_superuser("boss", "boss@example.com", "s3cret-pass-123")

    # when: the index sends an anonymous visitor to the login page, under the stage
    first = invoke(api_event("GET", "/admin/"))
    login_url = header(first, "Location")
    page = invoke(api_event("GET", "/admin/login/", query={"next": "/dev/admin/"}))
    cookies = cookies_of(page)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body_of(page).decode()).group(1)
    login = invoke(form_event(
        "/admin/login/",
        {"username": "boss", "password": "s3cret-pass-123", "csrfmiddlewaretoken": token, "next": "/dev/admin/"},
        cookies, referer=f"{ORIGIN}/dev/admin/login/?next=/dev/admin/",
    ))
    cookies |= cookies_of(login)
    index = invoke(api_event("GET", "/admin/", headers={"Cookie": cookie_header(cookies)}))

    # then
    assert first["statusCode"] == 302
    assert login_url == "/dev/admin/login/?next=/dev/admin/"
    assert login["statusCode"] == 302, body_of(login)[:500]
    assert header(login, "Location") == "/dev/admin/"
    session_cookie = next(line for line in set_cookie_lines(login) if line.startswith("sessionid="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    assert index["statusCode"] == 200
    html = body_of(index).decode()
    assert "boss" in html
    assert 'href="/dev/admin/orders/order/"' in html
    assert not re.search(r'(href|action|src)="/(admin|static)/', html), "a link lost the /dev stage prefix"


def test_a_login_post_without_the_csrf_token_is_refused(invoke, db):
    User.objects.create_superuser("boss", "boss@example.com", "s3cret-pass-123")
    page = invoke(api_event("GET", "/admin/login/"))

    response = invoke(form_event("/admin/login/", {"username": "boss", "password": "s3cret-pass-123"},
                                 cookies_of(page), referer=f"{ORIGIN}/dev/admin/login/"))

    assert response["statusCode"] == 403
    assert not any(line.startswith("sessionid=") for line in set_cookie_lines(response))


def test_admin_css_is_served_as_text_css(invoke, db):
    response = invoke(api_event("GET", "/static/admin/css/base.css"))

    assert response["statusCode"] == 200
    assert header(response, "Content-Type").startswith("text/css")
    assert b"--primary" in body_of(response)
    assert response.get("isBase64Encoded") in (None, False)


def test_responses_carry_hsts_on_the_execute_api_host(invoke, db):
    response = invoke(api_event("GET", "/admin/login/"))

    assert header(response, "Strict-Transport-Security") == "max-age=31536000; includeSubDomains; preload"


def test_the_keep_warm_ping_is_answered_without_touching_the_app(invoke, db):
    rule = "arn:aws:events:ap-northeast-1:123456789012:rule/inventory-alloc-dev-zappa-keep-warm-handler.keep_warm_callback"
    ping = {"detail-type": "Scheduled Event", "source": "aws.events", "resources": [rule], "detail": {}}

    with CaptureQueriesContext(connection) as queries:
        answer = invoke(ping)

    assert answer is None
    assert len(queries) == 0
    assert not AllocationRun.objects.exists()
