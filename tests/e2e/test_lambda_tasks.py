"""Big runs as Zappa asynchronous tasks, and the nightly scheduled run, through Zappa's Lambda handler.

On Lambda the task is sent to AWS as an asynchronous invocation: these tests put a recorder in place of
boto3's Lambda client inside zappa.asynchronous (AWS's side, not ours), then hand the recorded payload back
to the handler as the event Lambda would deliver.
"""
from __future__ import annotations

import json
from datetime import date

import pytest
import zappa.asynchronous
from django.contrib.auth.models import User
from django.db.models import Sum

from allocation.models import AllocationResult, AllocationRun, RunStatus
from allocation.parameters import RunRequest
from allocation.requests import allocation_request, is_big
from tests.api_support import user_in
from tests.e2e.lambda_support import (
    FUNCTION_NAME,
    ROOT,
    FakeLambdaClient,
    LambdaContext,
    admin_session,
    api_event,
    body_of,
    cookie_header,
    cookies_of,
    form_event,
    json_event,
    json_of,
)
from tests.factories import order_with_lines

JAN_31 = date(2026, 1, 31)
NIGHTLY_RULE = f"arn:aws:events:ap-northeast-1:123456789012:rule/{FUNCTION_NAME}-allocation.tasks.nightly_allocation"


@pytest.fixture
def invoke(lambda_handler, db):
    from django.core.cache import cache

    cache.clear()  # the token throttle counts per client IP in the local-memory cache
    return lambda lambda_event: lambda_handler.handler(lambda_event, LambdaContext())


@pytest.fixture
def aws_lambda(monkeypatch) -> FakeLambdaClient:
    """Record the asynchronous invocations Zappa makes (none may happen unless on Lambda)."""
    client = FakeLambdaClient()
    monkeypatch.setattr(zappa.asynchronous, "LAMBDA_CLIENT", client, raising=False)
    return client


@pytest.fixture
def on_lambda(monkeypatch, aws_lambda) -> FakeLambdaClient:
    """Make this process look like a Lambda function of the dev stage, as AWS does for Zappa."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    return aws_lambda


@pytest.fixture
def big_runs(settings):
    """Make every run of more than one order "big"."""
    settings.ALLOCATION_ASYNC_THRESHOLD = 1


def order_ids(widget_example) -> list[int]:
    return [widget_example["orders"]["O1"].pk, widget_example["orders"]["O2"].pk]


def test_off_lambda_zappa_runs_a_big_run_in_process_so_it_is_done_at_once(
    widget_example, big_runs, aws_lambda, monkeypatch, django_capture_on_commit_callbacks,
):
    # given: not on Lambda
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = allocation_request(RunRequest.of(method="FIFO", orders=order_ids(widget_example), as_of=JAN_31)).run

    # then: it was queued, then Zappa's @task ran it here instead of invoking Lambda
    assert len(callbacks) == 1
    assert aws_lambda.invocations == []
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.allocated_quantity == 180
    assert AllocationResult.objects.filter(run=run).count() == 4


def test_a_small_run_runs_in_the_request_even_on_lambda(widget_example, on_lambda):
    run = allocation_request(RunRequest.of(method="FIFO", orders=order_ids(widget_example), as_of=JAN_31)).run

    assert run.status == RunStatus.DONE and run.allocated_quantity == 180
    assert on_lambda.invocations == []


def test_a_big_run_naming_a_missing_order_is_refused_before_it_is_queued(widget_example, big_runs, on_lambda):
    from allocation.domain import NotFound

    with pytest.raises(NotFound) as error:
        allocation_request(RunRequest.of(method="FIFO", orders=[*order_ids(widget_example), 987654], as_of=JAN_31))

    assert error.value.data["orders"] == [987654]
    assert not AllocationRun.objects.exists()
    assert on_lambda.invocations == []


def test_on_lambda_the_api_queues_a_big_run_and_the_async_invocation_finishes_it(
    invoke, widget_example, big_runs, on_lambda, django_capture_on_commit_callbacks,
):
    # given
    user_in("allocator", username="alice")
    token = invoke(json_event("POST", "/api/v1/token/", {"username": "alice", "password": "s3cret-pass-123"}))
    bearer = {"Authorization": f"Bearer {json_of(token)['access']}"}

    # when: the API answers at once
    with django_capture_on_commit_callbacks(execute=True):
        response = invoke(json_event("POST", "/api/v1/allocate/", {
            "method": "FIFO", "orders": order_ids(widget_example), "as_of": "2026-01-31"}, token=json_of(token)["access"]))

    # then: 202 with a queued run, and one asynchronous invocation of this function with the run id
    assert response["statusCode"] == 202, body_of(response)
    run_id = json_of(response)["run"]["id"]
    assert json_of(response)["run"]["status"] == RunStatus.QUEUED
    assert [(c["FunctionName"], c["InvocationType"]) for c in on_lambda.invocations] == [(FUNCTION_NAME, "Event")]
    [message] = on_lambda.payloads()
    assert message["command"] == "zappa.asynchronous.route_lambda_task"
    assert message["task_path"] == "allocation.tasks.allocation_run_execute"
    assert message["kwargs"] == {"run_id": run_id}
    queued = invoke(api_event("GET", f"/api/v1/allocation-runs/{run_id}/", headers=bearer))
    assert json_of(queued)["status"] == RunStatus.QUEUED
    assert not AllocationResult.objects.exists()

    # when: Lambda delivers the invocation to the handler
    answer = invoke(json.loads(on_lambda.invocations[0]["Payload"]))

    # then: the run is done with its results, and no further invocation was made
    assert answer == {"run": run_id, "status": RunStatus.DONE}
    done = json_of(invoke(api_event("GET", f"/api/v1/allocation-runs/{run_id}/", headers=bearer)))
    assert done["status"] == RunStatus.DONE
    assert done["allocated_quantity"] == 180 and done["allocated_amount"] == "1995.00"
    assert AllocationResult.objects.filter(run_id=run_id).count() == 4
    assert len(on_lambda.invocations) == 1


def test_a_retried_invocation_leaves_a_done_run_as_it_is(
    invoke, widget_example, big_runs, on_lambda, django_capture_on_commit_callbacks,
):
    # given: a big run queued and executed once
    with django_capture_on_commit_callbacks(execute=True):
        run = allocation_request(RunRequest.of(method="FIFO", orders=order_ids(widget_example), as_of=JAN_31)).run
    message = on_lambda.payloads()[0]
    invoke(message)

    # when: Lambda retries the same event
    answer = invoke(message)

    # then
    assert answer == {"run": run.pk, "status": RunStatus.DONE}
    assert AllocationResult.objects.filter(run=run).count() == 4


def test_a_failed_invocation_marks_the_run_failed_with_the_reason(
    widget_example, big_runs, on_lambda, django_capture_on_commit_callbacks,
):
    # given: the Lambda API cannot be reached (no VPC endpoint, no permission, ...)
    on_lambda.error = ConnectionError("Could not connect to the endpoint URL")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        run = allocation_request(RunRequest.of(method="FIFO", orders=order_ids(widget_example), as_of=JAN_31)).run

    # then
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "Could not connect to the endpoint URL" in run.error
    assert not AllocationResult.objects.exists()


def test_on_lambda_the_admin_queues_a_big_run_and_links_to_its_page(
    invoke, widget_example, big_runs, on_lambda, django_capture_on_commit_callbacks,
):
    # given
    User.objects.create_superuser("boss", "boss@example.com", "s3cret-pass-123")
    cookies = admin_session(invoke, "boss", "s3cret-pass-123")
    form = {"method": "FIFO", "policy": "order_date", "as_of": "2026-01-31", "allow_partial": "on", "allow_inbound": "on",
            "allocate": "1", "_selected_action": order_ids(widget_example), "select_across": "0",
            "csrfmiddlewaretoken": cookies["csrftoken"]}

    # when
    with django_capture_on_commit_callbacks(execute=True):
        posted = invoke(form_event("/admin/orders/order/allocate/", form, cookies,
                                   referer="https://abc123.execute-api.ap-northeast-1.amazonaws.com/dev/admin/orders/order/"))
    cookies |= cookies_of(posted)  # the message rides in a cookie to the next page
    listing = invoke(api_event("GET", "/admin/orders/order/", headers={"Cookie": cookie_header(cookies)}))
    run = AllocationRun.objects.get()
    page = invoke(api_event("GET", f"/admin/allocation/allocationrun/{run.pk}/change/",
                            headers={"Cookie": cookie_header(cookies)}))

    # then: the admin answered at once, pointing at the queued run's page
    assert posted["statusCode"] == 302, body_of(posted)[:500]
    html = body_of(listing).decode()
    assert f"Allocation run #{run.pk} started in the background; it is Queued." in html
    assert f'href="/dev/admin/allocation/allocationrun/{run.pk}/change/"' in html
    assert run.status == RunStatus.QUEUED
    assert page["statusCode"] == 200 and "Queued" in body_of(page).decode()

    # when: the invocation arrives
    invoke(on_lambda.payloads()[0])

    # then
    page = invoke(api_event("GET", f"/admin/allocation/allocationrun/{run.pk}/change/",
                            headers={"Cookie": cookie_header(cookies)}))
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.allocated_quantity == 180
    assert "Done" in body_of(page).decode()


def scheduled_event() -> dict:
    return {
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-21T15:00:00Z", "region": "ap-northeast-1",
        "resources": [NIGHTLY_RULE], "detail": {},
    }


def test_zappa_settings_schedule_the_nightly_allocation_at_midnight_in_tokyo():
    config = json.loads((ROOT / "zappa_settings.json").read_text())

    for stage in ("dev", "production"):
        events = config[stage].get("events") or config[config[stage]["extends"]]["events"]
        assert {"function": "allocation.tasks.nightly_allocation", "expression": "cron(0 15 * * ? *)"}.items() <= \
            events[0].items()


def test_the_scheduled_event_allocates_every_open_order_with_the_nightly_method(invoke, widget_example, settings, aws_lambda):
    # given
    settings.ALLOCATION_NIGHTLY_METHOD = "LIFO"

    # when: EventBridge fires the rule Zappa created for the "events" entry
    answer = invoke(scheduled_event())

    # then: one run over both open orders, newest lot in stock first (L3, then L2; then L2, L1)
    run = AllocationRun.objects.get()
    assert answer == {"run": run.pk, "status": RunStatus.DONE}
    assert run.method == "LIFO" and run.requested_orders is None and run.orders_considered == 2
    picks = list(AllocationResult.objects.filter(run=run).order_by("id").values_list("lot__reference", "allocated_quantity"))
    assert picks == [("L3", 100), ("L2", 20), ("L2", 30), ("L1", 30)]
    assert aws_lambda.invocations == []


def test_the_nightly_run_follows_the_nightly_policy_fair_share(invoke, widget_example, settings, aws_lambda):
    # given: 450 units (250 in stock, 200 inbound) for 580 asked
    order_with_lines("O3", date(2026, 1, 13), (widget_example["item"], 400))
    settings.ALLOCATION_NIGHTLY_METHOD, settings.ALLOCATION_NIGHTLY_POLICY = "FIFO", "fair_share"

    invoke(scheduled_event())

    # then: quotas 93, 46 (+1, the largest remainder) and 310 of 450
    run = AllocationRun.objects.get()
    assert run.policy == "fair_share"
    got = dict(AllocationResult.objects.filter(run=run).values_list("order__order_number").annotate(Sum("allocated_quantity")))
    assert got == {"O1": 93, "O2": 47, "O3": 310}


def test_a_big_nightly_run_on_lambda_goes_to_an_async_task(
    invoke, widget_example, big_runs, on_lambda, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = invoke(scheduled_event())

    run = AllocationRun.objects.get()
    assert answer == {"run": run.pk, "status": RunStatus.QUEUED}
    assert on_lambda.payloads()[0]["kwargs"] == {"run_id": run.pk}
    assert invoke(on_lambda.payloads()[0]) == {"run": run.pk, "status": RunStatus.DONE}


def test_a_run_is_big_when_it_has_more_orders_than_the_threshold_counting_every_open_order(widget_example, settings):
    # given: two open orders, a threshold of two
    settings.ALLOCATION_ASYNC_THRESHOLD = 2
    ids = order_ids(widget_example)

    # then
    assert not is_big(RunRequest.of(method="FIFO", orders=ids)) and not is_big(RunRequest(method="FIFO"))
    assert is_big(RunRequest.of(method="FIFO", orders=[*ids, ids[0] + 1000]))

    # when: a third order is opened, "every open order" is over the threshold
    order_with_lines("O3", JAN_31, (widget_example["item"], 5))
    assert is_big(RunRequest(method="FIFO"))
