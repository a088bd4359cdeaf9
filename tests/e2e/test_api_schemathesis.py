"""Property-based checks of the whole API against its own OpenAPI schema (schemathesis), with every check.

Every operation gets a handful of generated requests, valid and invalid, authenticated as a superuser
over data that already holds the worked example: no answer may be a server error, every answer must be
documented and match its schema (status, content type, headers, body), a request the schema refuses
must be refused (negative data), and a request it allows must not be (positive data; a 400 for a rule
of the books no schema can state is accepted, see schemathesis.toml).
"""
from datetime import date

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken

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
def test_every_operation_passes_every_schemathesis_check(case, superuser_headers):
    case.call_and_validate(
        headers=superuser_headers,
        checks=None,  # every check schemathesis has
    )
