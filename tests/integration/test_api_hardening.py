"""Answers on a bad day: errors under /api/ are JSON, logged with their request id, database trouble in plain words."""
import io
import json
import logging
import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from inventory_alloc.log import JsonFormatter
from stock.models import Lot
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API


def test_a_body_over_the_size_limit_is_a_json_400(allocator, settings, db):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"item_code": "BIG", "name": "x" * 5000})

    allocator.raise_request_exception = False
    response = allocator.generic("POST", f"{API}items/", body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "bad_request"


def test_a_host_that_is_not_allowed_is_a_json_400_under_the_api(db):
    client = APIClient(HTTP_HOST="evil.example")
    client.raise_request_exception = False

    response = client.get(f"{API}items/")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("path", ["items/", "orders/", "allocate/", "periods/2026-01/close/"])
def test_a_deeply_nested_body_is_a_400_on_every_json_endpoint(allocator, db, path):
    body = "[" * 50_000 + "]" * 50_000

    response = allocator.generic("POST", f"{API}{path}", body, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


@pytest.fixture
def log_lines(monkeypatch):
    """Return a function that gives the JSON lines the app's log handler wrote during the test."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter))
    stream = io.StringIO()
    monkeypatch.setattr(handler, "stream", stream)
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_answer_carries_a_request_id_and_a_server_error_is_logged_as_json_with_it(allocator, db, log_lines,
                                                                                        monkeypatch):
    # given: a view that fails
    from allocation import api_orders as views

    def broken(*args, **kwargs):
        raise RuntimeError("boom in metrics")

    monkeypatch.setattr(views, "customer_metrics", broken)
    customer = __import__("tests.factories", fromlist=["CustomerFactory"]).CustomerFactory()
    allocator.raise_request_exception = False
    # when
    response = allocator.get(f"{API}customers/{customer.pk}/metrics/", HTTP_X_REQUEST_ID="req-0123456789")
    # then
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error.", "code": "server_error"}
    assert response["X-Request-ID"] == "req-0123456789"
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert errors and errors[-1]["request_id"] == "req-0123456789"
    assert "boom in metrics" in errors[-1]["exception"]


def test_a_request_without_an_id_gets_a_new_one(viewer):
    first, second = viewer.get(f"{API}items/")["X-Request-ID"], viewer.get(f"{API}items/")["X-Request-ID"]

    assert len(first) == 32 and first != second


@pytest.mark.skipif(connection.vendor != "postgresql", reason="lock_timeout is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_lock_held_elsewhere_is_waited_for_a_bounded_time_then_a_409(widget_example):
    # given: another connection holds lot L1 for a while
    from tests.api_support import client_for, user_in

    lot = Lot.objects.get(reference="L1")
    client = client_for(user_in(None, is_superuser=True))  # groups do not survive a transactional test's flush
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("SELECT id FROM stock_lot WHERE id = %s FOR UPDATE", [lot.pk])
                held.set()
                release.wait(10)
                cursor.execute("ROLLBACK")
        finally:
            other.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 300")
        # when
        response = client.patch(f"{API}lots/{lot.pk}/", {"note": "recount"}, format="json")
    finally:
        release.set()
        holder.join(10)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    # then
    assert response.status_code == 409
    assert response.json() == {"detail": "Another change holds these records; try again in a moment.", "code": "busy"}
    assert Lot.objects.get(pk=lot.pk).note == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statement_timeout is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_statement_that_runs_out_of_time_is_a_503_without_the_drivers_text(monkeypatch, log_lines):
    # given: a read that takes 2 s, under a statement limit of 0.2 s
    from allocation import api_orders as views
    from tests.api_support import client_for, user_in
    from tests.factories import CustomerFactory

    def slow(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(2)")

    monkeypatch.setattr(views, "customer_metrics", slow)
    customer, client = CustomerFactory(), client_for(user_in(None, is_superuser=True))
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 200")
    try:
        # when
        response = client.get(f"{API}customers/{customer.pk}/metrics/")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    # then: a plain reason, and the driver's text only in the log
    assert response.status_code == 503
    assert response.json() == {"detail": "The database took too long to answer; try again, or ask for less.",
                               "code": "timeout"}
    assert response["Retry-After"] == "5"
    assert any("canceling statement" in line["message"] for line in log_lines())
