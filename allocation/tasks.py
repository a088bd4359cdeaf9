"""Allocation runs that outlive a request: queued runs and the nightly run (Zappa on AWS Lambda).

`allocation.requests.allocation_request` queues a run bigger than ALLOCATION_ASYNC_THRESHOLD orders and
hands it to `run_queue`, which `AllocationConfig.ready` points at `allocation_run_execute`, a Zappa task:
on Lambda, calling it invokes a Lambda function asynchronously with the run id (the worker function named
by ALLOCATION_WORKER_FUNCTION, else this one) and returns at once; anywhere else Zappa's @task calls the
function in-process, so the run is done when the request returns. Either way the caller answers with the
run's id and status, which the user follows on /api/v1/allocation-runs/{id}/ or the run's admin page.

`nightly_allocation` is the target of the scheduled event in zappa_settings.json.
"""
from __future__ import annotations

import logging

from django.conf import settings
from zappa.asynchronous import task

from allocation.methods import DEFAULT_METHOD
from allocation.models import AllocationRun, RunStatus
from allocation.parameters import RunRequest
from allocation.requests import allocation_request, allocation_run_queued, allocation_runs_expire
from allocation.sql import long_statements
from inventory_alloc.errors import Conflict

logger = logging.getLogger(__name__)


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
        run = allocation_request(RunRequest(method=settings.ALLOCATION_NIGHTLY_METHOD or DEFAULT_METHOD)).run
    logger.info("Nightly allocation: run %s is %s", run.pk, run.status)
    return {"run": run.pk, "status": run.status}
