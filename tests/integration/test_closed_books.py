"""Once a period is closed, nothing can be allocated on or before its end, even concurrently."""
import threading
from datetime import date

import pytest
from django.db import connection, connections, transaction

from allocation import sql
from allocation.domain import PeriodClosed
from allocation.models import AllocationResult, AllocationRun, Method
from allocation.parameters import RunRequest
from allocation.requests import allocation_run_queue
from allocation.services import allocation_run, period_close

pytestmark = pytest.mark.django_db


def test_a_run_dated_before_a_closed_period_is_refused(widget_example):
    # given: January closed (nothing in it) and then February
    period_close(period="2026-01")
    period_close(period="2026-02")
    # when / then: a run in January, before February's end, is refused and writes nothing
    with pytest.raises(PeriodClosed, match="Period 2026-01 is closed"):
        allocation_run(method=Method.FIFO, as_of=date(2026, 1, 25))
    with pytest.raises(PeriodClosed, match="Period 2026-02 is closed: allocate at a date after 2026-02-28"):
        allocation_run(method=Method.FIFO, as_of=date(2026, 2, 15))
    assert not AllocationResult.objects.exists()
    # a run to be queued is refused before it is queued
    with pytest.raises(PeriodClosed):
        allocation_run_queue(RunRequest.of(method=Method.FIFO, as_of=date(2026, 1, 25)))
    assert not AllocationRun.objects.exists()
    # a date after the last closed period is fine
    assert allocation_run(method=Method.FIFO, as_of=date(2026, 3, 1)).run.allocated_quantity == 180


@pytest.mark.django_db(transaction=True)
def test_a_period_close_waits_for_a_run_in_a_past_period_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself")
    taken = threading.Event()
    release = threading.Event()
    results = {}

    def run_holding_the_books():
        with transaction.atomic():
            sql.lock_closed_books(exclusive=False)
            taken.set()
            release.wait(10)
        connections.close_all()

    def try_exclusive():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [sql._BOOKS_LOCK])
            results["close_could_lock"] = cursor.fetchone()[0]
        connections.close_all()

    holder = threading.Thread(target=run_holding_the_books)
    holder.start()
    assert taken.wait(10)
    closer = threading.Thread(target=try_exclusive)
    closer.start()
    closer.join(10)
    release.set()
    holder.join(10)
    assert results == {"close_could_lock": False}
