"""The webhook dispatcher against real HTTP receivers on 127.0.0.1 that verify Standard Webhooks signatures.

Events come from the real services (a run, a release, a cancel, a lot edit); `deliver_pass` sends them. A
receiver answers as scripted (healthy, failing, hanging, down) and records what arrived. Tests that move the
clock give the pass a `now`; those whose receiver verifies signatures keep it within the library's 5 minutes.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from allocation.delivery import deliver_pass
from allocation.event_data import fill_data
from allocation.models import Delivery, DeliveryAttempt, DeliveryStatus, Event, EventType, WebhookEndpoint
from allocation.releases import allocation_release, order_cancel
from allocation.services import allocation_run
from allocation.webhooks import new_secret, webhook_create, webhook_rotate, webhook_update
from stock.services import lot_update
from tests.webhook_support import verifies

JAN_31 = datetime(2026, 1, 31).date()
FAST = [0.0] * 7  # a retry schedule that retries at once, so that a test can pass again and again


def allocate(widget_example, *names: str) -> None:
    orders = [widget_example["orders"][name].pk for name in names or ("O1", "O2")]
    allocation_run(method="FIFO", orders=orders, as_of=JAN_31)


def edit_lot(widget_example, quantity: int = 250) -> None:
    lot_update(lot=widget_example["lots"]["L4"], quantity=quantity)


def test_each_event_reaches_each_subscribed_receiver_once_signed_and_byte_for_byte(widget_example, receivers):
    # given: one receiver of every event, one of lot changes only; a run (two orders) and a lot edit
    everything, lots = receivers(), receivers()
    everything.subscribe()
    lots.subscribe([EventType.LOT_CHANGED])
    allocate(widget_example)
    edit_lot(widget_example)
    events = list(Event.objects.order_by("id"))
    fill_data(events)  # what a run's events say is made from its rows

    # when
    report = deliver_pass()

    # then: oldest event first, each once, verified with the endpoint's secret
    assert [event.type for event in events] == ["allocation.allocated", "allocation.allocated", "lot.changed"]
    assert [received.webhook_id for received in everything.received] == [event.public_id for event in events]
    assert lots.ids() == {events[2].public_id: 1}
    assert all(received.verified for received in everything.received + lots.received)
    assert (report.sent, report.succeeded, report.retried, report.failed) == (4, 4, 0, 0)
    # the body carries the event's data text verbatim, inside type and timestamp
    for event, received in zip(events, everything.received, strict=True):
        stamp = event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        assert received.body.decode() == f'{{"type":"{event.type}","timestamp":"{stamp}","data":{event.data}}}'
        assert received.json()["data"] == json.loads(event.data)
        assert received.headers["content-type"] == "application/json"
        assert received.headers["user-agent"].startswith("inventory-alloc-webhooks/")
        assert received.headers["webhook-timestamp"].isdigit()
    # every attempt is recorded; nothing is left to send
    assert set(Delivery.objects.values_list("status", "attempts", "last_response_status")) == {("succeeded", 1, 200)}
    assert DeliveryAttempt.objects.count() == 4
    assert set(DeliveryAttempt.objects.values_list("succeeded", "response_status", "response_body", "error")) \
        == {(True, 200, "thanks", "")}
    assert str(deliver_pass()) == "Nothing was due."
    assert len(everything.received) == 3 and len(lots.received) == 1


def test_a_delivery_that_fails_twice_keeps_its_webhook_id_until_the_receiver_answers_200(widget_example, receivers,
                                                                                      settings):
    # given: a receiver that answers 500 (with a long body) twice, then 200
    settings.WEBHOOK_RETRY_SCHEDULE = FAST
    flaky = receivers(answers=(500, 500), reply=b"E" * 5000)
    endpoint = flaky.subscribe()
    edit_lot(widget_example)
    event = Event.objects.get()

    # when
    first = deliver_pass()
    endpoint.refresh_from_db()
    failing_since = endpoint.failing_since
    later = [deliver_pass(), deliver_pass()]

    # then: three requests with the same id and body, each verified; the last one succeeded
    assert flaky.ids() == {event.public_id: 3}
    assert len({received.body for received in flaky.received}) == 1
    assert all(received.verified for received in flaky.received)
    assert (first.retried, later[0].retried, later[1].succeeded) == (1, 1, 1)
    attempts = list(DeliveryAttempt.objects.order_by("id"))
    assert [(a.succeeded, a.response_status, a.error) for a in attempts] == [
        (False, 500, "HTTP 500."), (False, 500, "HTTP 500."), (True, 200, "")]
    assert attempts[0].response_body == "E" * 1000  # the first 1000 characters only
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error, delivery.next_attempt_at) == ("succeeded", 3, "", None)
    # the endpoint was failing from the first failure until the success
    assert failing_since == attempts[0].attempted_at
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.active


def test_a_tampered_body_or_another_secret_fails_verification(widget_example, receivers):
    # given: a delivered event
    receiver = receivers()
    endpoint = receiver.subscribe()
    allocate(widget_example, "O1")
    deliver_pass()
    [received] = receiver.received

    # when: someone changes a figure on the way, or signs with a secret of their own
    tampered = received.body.replace(b'"quantity":120', b'"quantity":999')

    # then
    assert tampered != received.body
    assert verifies(received, endpoint.secret)
    assert not verifies(received, endpoint.secret, tampered)
    assert not verifies(received, new_secret())


def test_a_receiver_that_hangs_past_the_timeout_is_a_failed_attempt_retried_on_the_schedule(widget_example, receivers,
                                                                                         settings):
    # given: a receiver that takes 3 s to answer, a dispatcher that waits 0.5 s
    settings.WEBHOOK_TIMEOUT = 0.5
    slow = receivers(hang=3)
    slow.subscribe()
    edit_lot(widget_example)

    # when
    report = deliver_pass()

    # then: the request arrived, the attempt failed for want of an answer, the next one is 5 s later
    assert len(slow.received) == 1
    assert (report.sent, report.retried) == (1, 1)
    attempt = DeliveryAttempt.objects.get()
    assert not attempt.succeeded and attempt.response_status is None
    assert attempt.error.startswith("No answer within 0.5 s (WEBHOOK_TIMEOUT)")
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at == attempt.attempted_at + timedelta(seconds=5)


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(widget_example, receivers):
    moved = receivers(answers=(302,))
    moved.subscribe()
    edit_lot(widget_example)

    report = deliver_pass()

    assert report.retried == 1 and len(moved.received) == 1
    assert DeliveryAttempt.objects.get().error.startswith("HTTP 302: redirects are not followed")


def test_a_receiver_that_is_down_is_retried_on_the_schedule_then_the_delivery_fails(widget_example, receivers, settings):
    # given: a receiver that never listens (the endpoint would be disabled after a day: not in this test)
    settings.WEBHOOK_DISABLE_AFTER = 30 * 24 * 3600
    down = receivers.down()
    down.subscribe()
    edit_lot(widget_example)
    due = Delivery.objects.get().next_attempt_at

    # when: a pass just before each attempt is due, and one when it is
    early, sent, waits = [], [], []
    for _ in range(len(settings.WEBHOOK_RETRY_SCHEDULE) + 1):
        early.append(deliver_pass(now=due - timedelta(seconds=1)).sent)
        sent.append(deliver_pass(now=due).sent)
        delivery = Delivery.objects.get()
        if delivery.next_attempt_at is not None:
            waits.append((delivery.next_attempt_at - due).total_seconds())
            due = delivery.next_attempt_at

    # then: the schedule was followed; after the last wait's attempt the delivery failed
    assert early == [0] * 8 and sent == [1] * 8
    assert waits == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    assert DeliveryAttempt.objects.filter(succeeded=False, response_status=None, error__contains="ConnectionError").count() == 8
    assert deliver_pass(now=due + timedelta(days=30)).sent == 0
    assert down.received == []


def test_an_endpoint_failing_for_a_day_is_disabled_with_a_reason_and_its_deliveries_wait_until_it_is_back(
        widget_example, receivers):
    # given: a delivery queued 25 hours ago to a receiver that is down
    down = receivers.down()
    endpoint = down.subscribe()
    edit_lot(widget_example)
    start = timezone.now().replace(microsecond=0) - timedelta(hours=25)
    Delivery.objects.update(next_attempt_at=start, created_at=start)

    # when: it fails at the start, 23 h later, and 24 h later
    reports = [deliver_pass(now=start + timedelta(hours=hours)) for hours in (0, 23, 24)]

    # then: still on after 23 h of failures, disabled at 24 h, saying since when
    assert [report.disabled for report in reports] == [[], [], [endpoint.pk]]
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.failing_since == start
    assert f"failed every attempt since {start.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" in endpoint.disabled_reason

    # when: a pass now, while it is disabled; then it is turned back on at a receiver that answers
    while_disabled = deliver_pass()
    up = receivers()
    webhook_update(endpoint=endpoint, url=up.url, active=True)
    up.secret = endpoint.secret
    back = deliver_pass()

    # then: the delivery waited, and went out once the endpoint was back
    assert while_disabled.sent == 0
    assert back.succeeded == 1 and up.ids() == {Event.objects.get().public_id: 1} and up.received[0].verified
    assert Delivery.objects.get().attempts == 4
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since is None and endpoint.disabled_reason == ""


def test_after_a_rotation_the_old_secret_still_verifies_until_the_overlap_ends(widget_example, receivers):
    # given: a receiver that still verifies with the secret from before the rotation
    receiver = receivers()
    endpoint = receiver.subscribe()
    rotated = webhook_rotate(endpoint=endpoint)
    edit_lot(widget_example, 250)

    # when
    deliver_pass()

    # then: two signatures, one per secret; the old one verifies, so does the new one
    [during] = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verified and verifies(during, rotated.secret)

    # when: the overlap has ended
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    edit_lot(widget_example, 260)
    deliver_pass()

    # then: one signature, by the new secret only: the receiver on the old one refuses it (401, retried later)
    after = receiver.received[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert not after.verified and verifies(after, rotated.secret)
    assert DeliveryAttempt.objects.order_by("id").last().response_status == 401


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_private_address_is_refused_before_connecting_when_not_allowed(widget_example, receivers, settings, host):
    # given: an endpoint on this machine, saved while private addresses were allowed
    receiver = receivers()
    endpoint = webhook_create(url=receiver.url.replace("127.0.0.1", host), events=[])
    receiver.secret = endpoint.secret
    edit_lot(widget_example)

    # when: they are not allowed any more
    settings.WEBHOOK_ALLOW_PRIVATE = False
    report = deliver_pass()

    # then: no request left; the attempt failed with the reason, to be retried
    assert receiver.received == []
    assert (report.sent, report.retried) == (1, 1)
    attempt = DeliveryAttempt.objects.get()
    assert attempt.error.startswith(f"Refused before connecting: {host} resolves to the private address ")
    assert "WEBHOOK_ALLOW_PRIVATE" in attempt.error


def test_the_events_of_a_rolled_back_transaction_are_never_delivered(widget_example, receivers):
    # given
    receiver = receivers()
    receiver.subscribe()

    # when: a run writes its events and deliveries, and its transaction rolls back
    with pytest.raises(RuntimeError), transaction.atomic():
        allocate(widget_example)
        assert Delivery.objects.count() == 2
        raise RuntimeError("rolled back")
    report = deliver_pass()

    # then
    assert report.sent == 0 and receiver.received == []
    assert not Event.objects.exists() and not Delivery.objects.exists()

    # and the same run, committed, is delivered: its own two events only
    allocate(widget_example)
    deliver_pass()
    assert receiver.ids() == {event.public_id: 1 for event in Event.objects.all()}
    assert len(receiver.received) == 2


def test_a_receiver_down_for_the_first_attempts_gets_every_event_once_numbered_per_order(widget_example, receivers,
                                                                                     settings):
    # given: a receiver that is down, and the events of runs, a release, a cancel and a lot edit
    settings.WEBHOOK_RETRY_SCHEDULE = FAST
    receiver = receivers.down()
    receiver.subscribe()
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    allocate(widget_example)
    allocation_release(order=o1)
    allocate(widget_example, "O1")
    order_cancel(order=o2)
    edit_lot(widget_example)
    events = list(Event.objects.order_by("id"))

    # when: three passes while it is down, then it comes back up and passes run until nothing is pending
    while_down = [deliver_pass() for _ in range(3)]
    receiver.start()
    for _ in range(10):
        if not Delivery.objects.filter(status=DeliveryStatus.PENDING).exists():
            break
        deliver_pass()

    # then: one failed attempt per pass while down (a failing endpoint is not tried again in the same pass)
    assert [(report.sent, report.retried) for report in while_down] == [(1, 1)] * 3
    # every event arrived, none twice, each verified
    assert receiver.ids() == {event.public_id: 1 for event in events}
    assert all(received.verified for received in receiver.received)
    assert Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == len(events) == 7
    assert DeliveryAttempt.objects.count() == len(events) + 3
    # each order's events carry consecutive sequence numbers, as recorded
    sequences = defaultdict(list)
    for received in receiver.received:
        data = received.json()["data"]
        if "order" in data:
            sequences[data["order"]["id"]].append(data["sequence"])
    assert {order: sorted(numbers) for order, numbers in sequences.items()} == {o1.pk: [1, 2, 3], o2.pk: [1, 2, 3]}
    assert sorted(Event.objects.filter(order=o2).values_list("type", "sequence")) == [
        ("allocation.allocated", 1), ("allocation.released", 2), ("order.cancelled", 3)]
