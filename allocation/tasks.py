"""Allocation runs that outlive a request: big runs and the nightly run (Zappa on AWS Lambda).

`allocation_run_start` runs an allocation at once when it is small, and queues it when it is bigger than
ALLOCATION_ASYNC_THRESHOLD orders. A queued run is handed to `allocation_run_execute`, a Zappa task: on
Lambda, calling it invokes a Lambda function asynchronously with the run id (the worker function named by
ALLOCATION_WORKER_FUNCTION, else this one) and returns at once; anywhere else Zappa's @task calls the
function in-process, so the run is done when `allocation_run_start` returns. Either way the caller answers
with the run's id and status, which the user follows on /api/v1/allocation-runs/{id}/ or the run's admin page.

`nightly_allocation` is the target of the scheduled event in zappa_settings.json.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from zappa.asynchronous import task

from allocation import loads
from allocation.domain import Conflict, NotFound
from allocation.models import AllocationRun, RunStatus
from allocation.services import allocation_run, allocation_run_prepare, allocation_run_queued, allocation_runs_expire
from allocation.sql import long_statements
from orders.models import ALLOCATABLE_STATUSES, Order

logger = logging.getLogger(__name__)


def allocation_run_is_big(orders: Iterable | None) -> bool:
    """Return whether a run over `orders` (None: every open order) is too big for one request."""
    count = Order.objects.filter(status__in=ALLOCATABLE_STATUSES).count() if orders is None else len(list(orders))
    return count > settings.ALLOCATION_ASYNC_THRESHOLD


def allocation_run_start(*, dry_run: bool = False, **params) -> AllocationRun:
    """Run an allocation now, or queue it for `allocation_run_execute` when it is big; return the run.

    `params` are those of `allocation_run` (method, orders, as_of, policy, allow_partial, allow_inbound,
    user). A dry run always runs now (it writes nothing, so there would be nothing to follow).
    Parameters are checked before anything is queued: bad ones raise as `allocation_run` does.
    """
    orders = params["orders"] = None if params.get("orders") is None else list(params["orders"])
    if dry_run or not allocation_run_is_big(orders):
        return allocation_run(dry_run=dry_run, **params).run
    if orders is not None:  # unknown orders raise NotFound now, as a run in the request would (not later, in the task)
        loads.order_rows(allocation_run_prepare(**params).requested_orders, lock=False)
    run = allocation_run_prepare(queue=True, **params)
    # The invoked function reads the run from the database: hand it over once the row is committed.
    transaction.on_commit(lambda: _dispatch(run.pk))
    run.refresh_from_db()
    return run


def allocation_run_retry(*, run: AllocationRun | int, user=None) -> AllocationRun:
    """Start a new run with the parameters of a failed one (queued if big, as any run); return it."""
    failed = AllocationRun.objects.filter(pk=getattr(run, "pk", run)).first()
    if failed is None:
        raise NotFound(f"No allocation run with id {getattr(run, 'pk', run)}.", run=getattr(run, "pk", run))
    if failed.status != RunStatus.FAILED:
        raise Conflict(f"Run {failed.pk} is {failed.status}; only a failed run can be retried.", run=failed.pk)
    return allocation_run_start(
        method=failed.method, orders=failed.requested_orders, as_of=failed.as_of, policy=failed.policy,
        allow_partial=failed.allow_partial, allow_inbound=failed.allow_inbound, user=user,
    )


def _dispatch(run_id: int) -> None:
    try:
        allocation_run_execute(run_id=run_id)
    except Exception as error:  # the invocation itself failed: say so on the run
        logger.exception("Could not start allocation run %s", run_id)
        AllocationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, error=f"Could not start the run: {error}"[:2000], finished_at=timezone.now(),
        )


@task(remote_aws_lambda_function_name=(settings.ALLOCATION_WORKER_FUNCTION or None) if settings.ON_LAMBDA else None)
def allocation_run_execute(run_id: int) -> dict:
    """Execute the queued run `run_id`; return its id and final status.

    A run that fails is stored as failed (with the error) and not raised again, so that Lambda does not
    retry it; a run that is no longer queued (a retried invocation) is left as it is.
    """
    allocation_runs_expire()  # a dispatcher pass also fails the runs whose process died
    try:
        with long_statements():
            allocation_run_queued(run_id=run_id)
    except Conflict:
        logger.warning("Allocation run %s was not queued any more; left as it is", run_id)
    except Exception:
        if not AllocationRun.objects.filter(pk=run_id, status=RunStatus.FAILED).exists():
            raise  # not recorded (e.g. the database was unreachable): let Lambda retry the invocation
        logger.exception("Allocation run %s failed", run_id)
    status = AllocationRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
    return {"run": run_id, "status": status}


def nightly_allocation(event: dict | None = None, context=None) -> dict:
    """Allocate every open order with ALLOCATION_NIGHTLY_METHOD (the nightly scheduled event)."""
    allocation_runs_expire()
    with long_statements():
        run = allocation_run_start(method=settings.ALLOCATION_NIGHTLY_METHOD)
    logger.info("Nightly allocation: run %s is %s", run.pk, run.status)
    return {"run": run.pk, "status": run.status}
