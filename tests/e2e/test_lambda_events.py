"""The webhook dispatcher on Lambda, through Zappa's own handler: the scheduled pass and the kick after a commit.

As in test_lambda_tasks.py, a recorder stands in for boto3's Lambda client inside zappa.asynchronous (AWS's
side), and a recorded invocation is handed back to the handler as the event Lambda would deliver. The
receivers are real HTTP servers on 127.0.0.1 that verify each signature.
"""
from __future__ import annotations

import json
from datetime import date

import pytest
import zappa.asynchronous

from allocation.events import delivery_kick
from allocation.models import Delivery, DeliveryStatus, Event
from allocation.services import allocation_run
from allocation.tasks import events_deliver_now
from tests.e2e.lambda_support import FUNCTION_NAME, ROOT, FakeLambdaClient, LambdaContext
from tests.webhook_support import plug_kick

JAN_31 = date(2026, 1, 31)
DISPATCH_RULE = f"arn:aws:events:ap-northeast-1:123456789012:rule/{FUNCTION_NAME}-allocation.tasks.events_deliver"


@pytest.fixture
def invoke(lambda_handler, db):
    return lambda lambda_event: lambda_handler.handler(lambda_event, LambdaContext())


@pytest.fixture
def on_lambda(monkeypatch) -> FakeLambdaClient:
    """Make this process look like a Lambda function of the dev stage, recording the invocations Zappa makes."""
    client = FakeLambdaClient()
    monkeypatch.setattr(zappa.asynchronous, "LAMBDA_CLIENT", client, raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    return client


def allocate(widget_example) -> None:
    allocation_run(method="FIFO", orders=[o.pk for o in widget_example["orders"].values()], as_of=JAN_31)


def scheduled_event(rule: str) -> dict:
    return {
        "version": "0", "id": "9c2f7a10-54d1-4f0e-9d0b-0b8a3c5e7f11", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-21T06:01:00Z", "region": "ap-northeast-1",
        "resources": [rule], "detail": {},
    }


def test_zappa_settings_run_the_dispatcher_every_minute_on_the_api_function_not_on_the_workers():
    config = json.loads((ROOT / "zappa_settings.json").read_text())

    scheduled = {event["function"]: event["expression"] for event in config["dev"]["events"]}

    assert scheduled["allocation.tasks.events_deliver"] == "rate(1 minute)"
    assert "events" not in config["production"]  # it extends dev, schedule included
    assert config["dev_worker"]["events"] == [] and config["production_worker"]["events"] == []


def test_the_scheduled_event_delivers_the_pending_deliveries(invoke, widget_example, receivers):
    # given: a run's two events waiting for a receiver
    receiver = receivers()
    receiver.subscribe()
    allocate(widget_example)

    # when: EventBridge fires the rule Zappa made for the "events" entry
    answer = invoke(scheduled_event(DISPATCH_RULE))

    # then
    assert (answer["sent"], answer["succeeded"], answer["retried"], answer["failed"]) == (2, 2, 0, 0)
    assert receiver.ids() == {event.public_id: 1 for event in Event.objects.all()}
    assert all(received.verified for received in receiver.received)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}


def test_on_lambda_the_kick_after_a_commit_is_an_async_invocation_that_delivers(
    invoke, widget_example, receivers, on_lambda, settings, monkeypatch, django_capture_on_commit_callbacks,
):
    # given: EVENTS_KICK "auto" on Lambda, plugged in as the app does when it starts
    plug_kick(settings, monkeypatch, EVENTS_KICK="auto", ON_LAMBDA=True)
    assert delivery_kick.send is events_deliver_now
    receiver = receivers()
    receiver.subscribe()

    # when: a run commits
    with django_capture_on_commit_callbacks(execute=True):
        allocate(widget_example)

    # then: one asynchronous invocation of the dispatcher task, and nothing sent by the request itself
    assert [(call["FunctionName"], call["InvocationType"]) for call in on_lambda.invocations] == [(FUNCTION_NAME, "Event")]
    [message] = on_lambda.payloads()
    assert message["command"] == "zappa.asynchronous.route_lambda_task"
    assert (message["task_path"], message["args"], message["kwargs"]) == ("allocation.tasks.events_deliver_now", [], {})
    assert receiver.received == []

    # when: Lambda delivers the invocation to the handler
    answer = invoke(message)

    # then: the pass sent both events, and made no further invocation
    assert (answer["sent"], answer["succeeded"]) == (2, 2)
    assert receiver.ids() == {event.public_id: 1 for event in Event.objects.all()}
    assert len(on_lambda.invocations) == 1
