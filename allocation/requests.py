"""The one service that decides whether a run is done now or queued, and the life of a queued run.

`allocation_request(RunRequest)` runs an allocation now, or queues it when it has more orders than
ALLOCATION_ASYNC_THRESHOLD (counted once), and answers every caller (API, admin, command, nightly
task, retry) with a `RunTicket`. A queued run is handed to `run_queue` once its row is committed
(`allocation.tasks` plugs Zappa's asynchronous task in), executed by `allocation_run_queued`, marked
failed by `allocation_runs_expire` if its process dies, and started again by `allocation_run_retry`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from allocation import loads
from allocation.models import AllocationRun, RunStatus
from allocation.parameters import RunRequest
from allocation.services import Progress, RunReport, execute, refuse_closed_books
from inventory_alloc.errors import Conflict, NotFound
from orders.models import ALLOCATABLE_STATUSES, Order

logger = logging.getLogger(__name__)


@dataclass
class RunTicket:
    """What a run request gives back: the run, and its report when it was done now (None when queued)."""

    run: AllocationRun
    report: RunReport | None = None

    @property
    def queued(self) -> bool:
        return self.report is None


class RunQueue:
    """Where a queued run is handed over once its row is committed (`allocation.tasks` plugs Zappa's task in)."""

    def __init__(self) -> None:
        self.send: Callable[[int], object] | None = None

    def put(self, run_id: int) -> None:
        transaction.on_commit(lambda: self._send(run_id))

    def _send(self, run_id: int) -> None:
        try:
            self.send(run_id=run_id)
        except Exception as error:  # the hand-over itself failed: say so on the run
            logger.exception("Could not start allocation run %s", run_id)
            AllocationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
                status=RunStatus.FAILED, error=f"Could not start the run: {error}"[:2000], finished_at=timezone.now())


run_queue = RunQueue()


def is_big(request: RunRequest) -> bool:
    """Return whether a run is too big for one request (more orders than ALLOCATION_ASYNC_THRESHOLD)."""
    if request.orders is not None:
        return len(request.orders) > settings.ALLOCATION_ASYNC_THRESHOLD
    return Order.objects.filter(status__in=ALLOCATABLE_STATUSES).count() > settings.ALLOCATION_ASYNC_THRESHOLD


def run_deadline(start: datetime) -> datetime:
    return start + timedelta(seconds=settings.ALLOCATION_RUN_TIMEOUT)


def allocation_request(request: RunRequest, *, user=None, progress: Progress | None = None) -> RunTicket:
    """Run an allocation now, or queue it when it is big; say which with a RunTicket.

    A dry run always runs now (it writes nothing: there would be nothing to follow). Parameters are
    checked before anything is queued, and unknown orders are refused then too.
    """
    request = request.validated()
    if request.dry_run or not is_big(request):
        report = execute(request.new_run(user), progress=progress)
        return RunTicket(report.run, report)
    return RunTicket(allocation_run_queue(request, user=user))


def allocation_run_queue(request: RunRequest, *, user=None) -> AllocationRun:
    """Save a run as queued and hand it to `run_queue` once committed; refuse unknown orders and closed books now."""
    request = request.validated()
    if request.orders is not None:
        loads.order_rows(list(request.orders), lock=False)
    refuse_closed_books(request.as_of, lock=False)  # a queued run checks again, under lock, when it runs
    run = request.new_run(user)
    run.status, run.started_at = RunStatus.QUEUED, timezone.now()
    run.deadline = run_deadline(run.started_at)
    run.save()
    run_queue.put(run.pk)
    run.refresh_from_db()
    return run


def allocation_run_queued(*, run_id: int, progress: Progress | None = None) -> RunReport:
    """Execute a queued run; a failure is stored on the run (status failed) and re-raised."""
    updated = AllocationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, deadline=run_deadline(timezone.now()))
    run = AllocationRun.objects.get(pk=run_id)
    if not updated:
        raise Conflict(f"Run {run_id} is not queued (it is {run.status}).", run=run_id)
    try:
        return execute(run, progress=progress)
    except Exception as error:
        AllocationRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now(),
        )
        raise


def allocation_runs_expire(*, now: datetime | None = None) -> int:
    """Mark failed the queued or running runs past their deadline; return how many.

    Such a run's process is gone (a Lambda timeout, out of memory, a kill): it wrote nothing (a run is one
    transaction), and it never will. Called by every read of runs (API, admin), the dispatcher and the
    nightly task; the failed run can be retried.
    """
    now = now or timezone.now()
    error = (f"The run did not finish within {settings.ALLOCATION_RUN_TIMEOUT} s of its start: its process "
             "stopped (a timeout, out of memory or a kill) and nothing of it was written. Retry it.")
    return AllocationRun.objects.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING), deadline__lt=now).update(
        status=RunStatus.FAILED, error=error, finished_at=now,
    )


def allocation_run_retry(*, run: AllocationRun | int, user=None) -> RunTicket:
    """Start a new run with the parameters of a failed one (queued if big, as any run)."""
    run_id = getattr(run, "pk", run)
    failed = AllocationRun.objects.filter(pk=run_id).first()
    if failed is None:
        raise NotFound(f"No allocation run with id {run_id}.", run=run_id)
    if failed.status != RunStatus.FAILED:
        raise Conflict(f"Run {failed.pk} is {failed.status}; only a failed run can be retried.", run=failed.pk)
    return allocation_request(replace(RunRequest.from_run(failed), dry_run=False), user=user)
