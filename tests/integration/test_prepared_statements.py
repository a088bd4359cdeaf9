"""A run's hot statements are prepared on a PostgreSQL connection from their second use on it."""
from datetime import date

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from allocation.models import AllocationResult, Method
from allocation.services import allocation_run
from allocation.sql import execute
from tests.factories import ItemFactory, LotFactory, order_with_lines

SQL = "SELECT %s::bigint[], %s::date[], %s || '!'"


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")


@pytest.fixture(autouse=True)
def none_prepared_yet(postgres_only, django_db_blocker):
    """Start from a session that has prepared nothing (earlier tests share the connection)."""
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connections[DEFAULT_DB_ALIAS].__dict__.pop("_prepared_statements", None)


def prepared() -> dict[str, tuple[str, int, int]]:
    """Return the statements prepared on the connection, by name: the text each came in (the whole string its
    PREPARE was sent in, which may prepare more than one), its generic plans and its custom plans."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return {name: (text, generic, custom) for name, text, generic, custom in cursor.fetchall()}


def run_three_times() -> list:
    answers = []
    with connection.cursor() as cursor:
        for values in ([1, 2], [None, date(2026, 1, 5)], "x"), ([], [None, None], "y"), ([3], [], "z"):
            execute(cursor, SQL, list(values))
            answers.append(cursor.fetchone())
    return answers


def test_a_statement_is_prepared_on_its_second_use_and_answers_the_same(postgres_only, db):
    answers = run_three_times()
    assert answers == [([1, 2], [None, date(2026, 1, 5)], "x!"), ([], [None, None], "y!"), ([3], [], "z!")]
    statements = [row for row in prepared().values() if "bigint[]" in row[0]]
    assert len(statements) == 1  # prepared once, at its second use (an array of NULLs included)
    (text, generic, custom), = statements
    assert "$1::bigint[]" in text and (generic, custom) == (2, 0)  # planned once, generic


def test_nothing_is_prepared_when_turned_off(postgres_only, db, settings):
    settings.DB_PREPARE = False
    assert run_three_times()[2] == ([3], [], "z!")
    assert prepared() == {}


def test_a_new_connection_prepares_again(postgres_only, transactional_db):
    run_three_times()
    connection.close()
    assert run_three_times()[0] == ([1, 2], [None, date(2026, 1, 5)], "x!")
    assert len(prepared()) == 1


def test_one_order_runs_prepare_their_reads_and_closing_statement(postgres_only, db):
    item = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=item, quantity=10, received_on=date(2026, 1, 5))
    orders = [order_with_lines(f"R{n}", date(2026, 1, 10), (item, 1)) for n in range(3)]
    for order in orders:
        allocation_run(method=Method.FIFO, orders=[order.pk], as_of=date(2026, 1, 25))
    assert len(prepared()) == 3  # the orders' lock, the read of the orders, their lines and lots, the closing statement
    assert any("allocation_lots_unmoved" in text for text, _, _ in prepared().values())
    assert AllocationResult.objects.count() == 3


def test_a_new_run_is_inserted_with_its_values_prepared_as_save_would(postgres_only, db):
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from allocation.parameters import RunRequest
    from allocation.writes import _run_insert_sql

    user = get_user_model().objects.create_user("clerk", password="s3cret-pass-123")
    run = RunRequest.of(method=Method.FIFO, orders=[3, 1], as_of=date(2026, 1, 25)).validated().new_run(user)
    run.started_at = run.finished_at = timezone.now()
    run.status, run.allocated_amount, run.allocated_quantity = "done", Decimal("12.50"), 3
    sql, values = _run_insert_sql(run)
    fields = [f for f in type(run)._meta.local_concrete_fields if not f.primary_key]
    expected = [f.get_db_prep_save(getattr(run, f.attname), connection) for f in fields]
    assert [getattr(v, "adapted", v) for v in values] == [getattr(v, "adapted", v) for v in expected]
    with connection.cursor() as cursor:  # and the database takes them
        cursor.execute(sql + " RETURNING requested_orders, started_by_id, allocated_amount", values)
        assert cursor.fetchone() == ("[1, 3]", user.pk, Decimal("12.50"))  # jsonb as text, as Django reads it
