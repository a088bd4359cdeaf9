"""Fixtures shared by the end-to-end tests."""
import pytest

from tests.e2e.lambda_support import zappa_handler


@pytest.fixture(scope="module")
def lambda_handler(django_db_blocker):
    """Zappa's own LambdaHandler for this project, as Lambda would load it."""
    with django_db_blocker.unblock(), zappa_handler() as handler:
        yield handler
