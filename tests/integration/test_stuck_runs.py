"""A queued run whose process dies (a Lambda timeout, out of memory, kill -9) is marked failed by the next
read, dispatcher pass or nightly task, says why, and can be retried."""
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from allocation.models import AllocationResult, AllocationRun, RunStatus
from allocation.parameters import RunRequest
from allocation.requests import allocation_run_queue, allocation_run_retry, allocation_runs_expire
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 1, 25)


def stuck_run(widget_example, *, seconds_late: int = 1) -> AllocationRun:
    """A run of O1 and O2 that was queued, started running, and whose process then died."""
    run = allocation_run_queue(RunRequest.of(method="FIFO", orders=list(widget_example["orders"].values()), as_of=AS_OF))
    AllocationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, deadline=timezone.now() - timedelta(seconds=seconds_late))
    return run


def test_reading_the_run_in_the_api_marks_it_failed_and_says_why(widget_example, viewer):
    run = stuck_run(widget_example)

    shown = viewer.get(f"{API}allocation-runs/{run.pk}/").json()

    assert shown["status"] == "failed"
    assert "did not finish within" in shown["error"] and "Retry it." in shown["error"]
    assert not AllocationResult.objects.exists()


def test_a_run_before_its_deadline_is_left_running(widget_example):
    run = stuck_run(widget_example, seconds_late=-600)  # ten minutes left

    assert allocation_runs_expire() == 0
    assert AllocationRun.objects.get(pk=run.pk).status == RunStatus.RUNNING


def test_the_runs_pages_of_the_admin_mark_it_failed_and_offer_a_retry(widget_example, admin_client):
    run = stuck_run(widget_example)

    page = admin_client.get(f"/admin/allocation/allocationrun/{run.pk}/change/").content.decode()

    assert AllocationRun.objects.get(pk=run.pk).status == RunStatus.FAILED
    assert f'action="/admin/allocation/allocationrun/{run.pk}/retry/"' in page
    response = admin_client.post(f"/admin/allocation/allocationrun/{run.pk}/retry/", follow=True)
    retried = AllocationRun.objects.exclude(pk=run.pk).get()
    assert retried.status == RunStatus.DONE and retried.allocated_quantity == 180
    assert response.request["PATH_INFO"] == f"/admin/allocation/allocationrun/{retried.pk}/change/"


def test_a_failed_run_is_retried_through_the_api_with_its_parameters(widget_example, allocator):
    run = stuck_run(widget_example)
    allocation_runs_expire()

    response = allocator.post(f"{API}allocation-runs/{run.pk}/retry/")

    assert response.status_code == 201
    new = response.json()["run"]
    assert (new["method"], new["as_of"], new["requested_orders_count"], new["status"]) == ("FIFO", "2026-01-25", 2, "done")
    assert allocator.post(f"{API}allocation-runs/{new['id']}/retry/").status_code == 409  # only a failed run


def test_the_dispatcher_and_the_nightly_task_expire_dead_runs_too(widget_example, settings):
    from allocation.tasks import nightly_allocation

    run = stuck_run(widget_example)
    settings.ALLOCATION_NIGHTLY_METHOD = "FIFO"

    nightly_allocation({}, None)

    assert AllocationRun.objects.get(pk=run.pk).status == RunStatus.FAILED


def test_retrying_a_run_that_is_not_failed_is_refused(widget_example):
    from allocation.domain import Conflict

    run = stuck_run(widget_example, seconds_late=-600)

    with pytest.raises(Conflict):
        allocation_run_retry(run=run)


KILLED_RUN = """
import os, sys, time
import django
django.setup()
from allocation.requests import allocation_run_queued

def stall(done: int) -> None:  # the run is under way, holding its transaction: say so, then hang
    print("running", flush=True)
    time.sleep(60)

allocation_run_queued(run_id=int(sys.argv[1]), progress=stall)
"""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="another process must see the test database")
@pytest.mark.django_db(transaction=True)
def test_a_run_killed_mid_transaction_leaves_nothing_and_is_failed_after_its_deadline(settings, monkeypatch):
    # given: a queued run, executed by another process (the worker) that is killed (SIGKILL) in the middle of it
    from allocation.requests import run_queue
    from tests.factories import ItemFactory, LotFactory, order_with_lines

    monkeypatch.setattr(run_queue, "send", lambda run_id: None)  # the queue holds it for the worker below
    settings.ALLOCATION_RUN_TIMEOUT = 2
    widget = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=widget, quantity=100, received_on=date(2026, 1, 5))
    order = order_with_lines("O1", date(2026, 1, 6), (widget, 10))
    run = allocation_run_queue(RunRequest.of(method="FIFO", orders=[order], as_of=AS_OF))
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings", "ALLOCATION_RUN_TIMEOUT": "2"}
    worker = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(run.pk)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "running"
        assert AllocationRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
        # when
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        time.sleep(2.2)  # past the run's deadline
        # then
        assert allocation_runs_expire() == 1
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    failed = AllocationRun.objects.get(pk=run.pk)
    assert failed.status == RunStatus.FAILED and "did not finish within 2 s" in failed.error
    assert not AllocationResult.objects.exists()
    assert order.lines.get().allocation_results.count() == 0
    retried = allocation_run_retry(run=failed).run
    assert retried.status == RunStatus.DONE and retried.allocated_quantity == 10
