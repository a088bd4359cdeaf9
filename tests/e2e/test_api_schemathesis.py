"""Property-based checks of the whole API against its own OpenAPI schema (schemathesis).

Every operation gets a handful of generated requests, authenticated as a
superuser over data that already holds the worked example; no answer may be a
server error, and every documented answer must match the schema.
"""
from datetime import date

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from allocation.services import allocation_run
from inventory_alloc.wsgi import application
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API

schema = schemathesis.openapi.from_wsgi(f"{API}schema/?format=json", application)


@pytest.fixture
def keep_the_test_connection():
    """Keep the database connection open across WSGI requests, as Django's test client does.

    Otherwise the end of each request closes the connection that holds the test's transaction.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def superuser_headers(keep_the_test_connection, widget_example, django_user_model) -> dict:
    # (no test-client request here: it would reconnect the signal handlers the fixture above disconnected)
    user = django_user_model.objects.create_superuser("root", "root@example.com", "s3cret-pass-123")
    allocation_run(method="FIFO", as_of=date(2026, 1, 25), orders=[widget_example["orders"]["O1"]], user=user)
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_request_gets_a_server_error_or_an_answer_outside_the_schema(case, superuser_headers):
    case.call_and_validate(
        headers=superuser_headers,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
