"""Allocation runs that outlive a request: queued runs and the nightly run (Zappa on AWS Lambda).

`allocation.requests.allocation_request` queues a run bigger than ALLOCATION_ASYNC_THRESHOLD orders and
hands it to `run_queue`, which `AllocationConfig.ready` points at `allocation_run_execute`, a Zappa task:
on Lambda, calling it invokes a Lambda function asynchronously with the run id (the worker function named
by ALLOCATION_WORKER_FUNCTION, else this one) and returns at once; anywhere else Zappa's @task calls the
function in-process, so the run is done when the request returns. Either way the caller answers with the
run's id and status, which the user follows on /api/v1/allocation-runs/{id}/ or the run's admin page.

`nightly_allocation` is the target of the scheduled event in zappa_settings.json.

Webhook deliveries leave through the dispatcher (`allocation.delivery`): `events_deliver` runs a pass every
minute (a scheduled event), and once a transaction that queued deliveries commits, `delivery_kicker()`
(plugged in by `AllocationConfig.ready` as EVENTS_KICK says) hurries one pass: on Lambda an asynchronous
invocation of `events_deliver_now` on the worker, elsewhere a pass in a background thread.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from zappa.asynchronous import task

from allocation.delivery import deliver_pass
from allocation.methods import DEFAULT_METHOD
from allocation.models import AllocationRun, RunStatus
from allocation.parameters import RunRequest
from allocation.policies import DEFAULT_POLICY
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
    """Allocate every open order with ALLOCATION_NIGHTLY_METHOD and _POLICY (the nightly scheduled event)."""
    allocation_runs_expire()
    with long_statements():
        run = allocation_request(RunRequest(method=settings.ALLOCATION_NIGHTLY_METHOD or DEFAULT_METHOD,
                                            policy=settings.ALLOCATION_NIGHTLY_POLICY or DEFAULT_POLICY)).run
    logger.info("Nightly allocation: run %s is %s", run.pk, run.status)
    return {"run": run.pk, "status": run.status}


# --- webhook deliveries ----------------------------------------------------------------------------

# Deliveries a scheduled or kicked pass may send: its time (WEBHOOK_PASS_SECONDS) is what ends it, not a count
# (at 100 a minute, a nightly run's thousands of events would take an hour to leave).
PASS_LIMIT = 100_000


def events_deliver(event: dict | None = None, context=None) -> dict:
    """Send the webhook deliveries that are due (the scheduled event, every minute); return what the pass did."""
    return asdict(deliver_pass(limit=PASS_LIMIT, seconds=_pass_seconds(context)))


def _pass_seconds(context) -> float:
    """Return how long a scheduled pass may take attempts: WEBHOOK_PASS_SECONDS, or less when the Lambda's time
    left is short, since the last attempt may take its two timeouts (connect, read) after that."""
    seconds = settings.WEBHOOK_PASS_SECONDS
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is not None:
        seconds = min(seconds, remaining() / 1000 - 2 * settings.WEBHOOK_TIMEOUT - 1)
    return max(seconds, 1.0)


@task(remote_aws_lambda_function_name=(settings.ALLOCATION_WORKER_FUNCTION or None) if settings.ON_LAMBDA else None)
def events_deliver_now() -> dict:
    """Send the webhook deliveries that are due, now: the kick after a commit (on Lambda, an async invocation)."""
    return asdict(deliver_pass(limit=PASS_LIMIT))


class ThreadKick:
    """Run a dispatcher pass in a background thread (off Lambda); a kick while one runs asks it for one more.

    One thread at most, however many transactions commit: a burst of writes costs a pass or two, not a
    thread each. The thread closes its database connections when it ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self._thread: threading.Thread | None = None

    def __call__(self) -> None:
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
            self._thread = threading.Thread(target=self._passes, name="webhook-kick", daemon=True)
            self._thread.start()

    def _passes(self) -> None:
        try:
            again = True
            while again:
                try:
                    deliver_pass(limit=PASS_LIMIT)
                except Exception:  # a kick is only a hurry: the next pass delivers
                    logger.exception("A kicked dispatcher pass failed; the next pass delivers")
                with self._lock:  # decided and marked together, so that no kick falls in between
                    again, self._again = self._again, False
                    self._running = again
        finally:
            connections.close_all()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the last thread started has ended its passes and closed its connections."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


thread_kick = ThreadKick()


def delivery_kicker() -> Callable[[], object] | None:
    """Return what hurries the dispatcher once deliveries are committed, as EVENTS_KICK says.

    "auto": on Lambda an asynchronous invocation of `events_deliver_now`, elsewhere a pass in a thread;
    "off": nothing (the scheduled pass, or `manage.py deliver_events --loop`, sends them).
    """
    if settings.EVENTS_KICK not in ("auto", "off"):
        raise ImproperlyConfigured(f'EVENTS_KICK is "auto" or "off", not "{settings.EVENTS_KICK}".')
    if settings.EVENTS_KICK == "off":
        return None
    return events_deliver_now if settings.ON_LAMBDA else thread_kick
