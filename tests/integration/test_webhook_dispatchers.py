"""Who runs the webhook dispatcher: claims between dispatchers, the command, the kick after a commit, two at once.

The receivers are real HTTP servers on 127.0.0.1 (tests.webhook_support) that verify each signature.
"""
from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from allocation.delivery import PassReport, deliver_pass, deliveries_claim, lease_seconds
from allocation.events import delivery_kick
from allocation.models import Delivery, DeliveryAttempt, DeliveryStatus, Event
from allocation.services import allocation_run
from allocation.tasks import delivery_kicker, events_deliver_now, thread_kick
from stock.services import lot_update
from tests.factories import ItemFactory, LotFactory, order_with_lines
from tests.threads import at_once
from tests.webhook_support import plug_kick

JAN_31 = date(2026, 1, 31)


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and real concurrency need PostgreSQL")


def test_a_claimed_delivery_is_left_alone_by_another_dispatcher_until_its_lease_ends(widget_example, receivers, settings):
    # given: a dispatcher claimed the delivery, then died (a 61.5 s lease with a 0.5 s timeout)
    settings.WEBHOOK_TIMEOUT = 0.5
    receiver = receivers()
    receiver.subscribe()
    lot_update(lot=widget_example["lots"]["L4"], quantity=250)
    now = timezone.now()
    claim = deliveries_claim(count=1, now=now)
    lease_end = now + timedelta(seconds=lease_seconds(1))

    # when: another dispatcher passes during the lease, and once it has ended
    during = deliver_pass(now=now + timedelta(seconds=60))
    after = deliver_pass(now=lease_end)

    # then: sent once, after the lease, with a signature the receiver accepts
    assert len(claim.deliveries) == 1 and Delivery.objects.get().attempts == 1
    assert (during.sent, after.sent, after.succeeded) == (0, 1, 1)
    assert receiver.ids() == {Event.objects.get().public_id: 1} and receiver.received[0].verified


def test_the_command_loops_over_passes_and_stops_by_itself(widget_example, receivers):
    # given: two events waiting
    receiver = receivers()
    receiver.subscribe()
    allocation_run(method="FIFO", orders=[o.pk for o in widget_example["orders"].values()], as_of=JAN_31)
    out = StringIO()

    # when: a worker that stops after a second, passing every 0.05 s
    call_command("deliver_events", "--loop", "--seconds", "1", "--interval", "0.05", stdout=out)

    # then: one line for the pass that sent them, none for the idle ones
    [line] = out.getvalue().splitlines()
    assert line.startswith("Sent 2: 2 succeeded, 0 to retry, 0 failed (")
    assert receiver.ids() == {event.public_id: 1 for event in Event.objects.all()}


def test_the_command_without_loop_runs_one_pass_and_says_when_nothing_was_due(db):
    out = StringIO()

    call_command("deliver_events", stdout=out)

    assert out.getvalue() == "Nothing was due.\n"


def test_the_kick_follows_events_kick(settings):
    settings.ON_LAMBDA = False
    settings.EVENTS_KICK = "off"
    assert delivery_kicker() is None
    settings.EVENTS_KICK = "auto"
    assert delivery_kicker() is thread_kick
    settings.ON_LAMBDA = True
    assert delivery_kicker() is events_deliver_now
    settings.EVENTS_KICK = "sometimes"
    with pytest.raises(Exception, match='EVENTS_KICK is "auto" or "off"'):
        delivery_kicker()


@pytest.mark.django_db(transaction=True)
def test_off_lambda_a_commit_kicks_a_pass_in_a_background_thread(receivers, settings, monkeypatch):
    # given: EVENTS_KICK "auto" off Lambda, plugged in as the app does when it starts
    plug_kick(settings, monkeypatch, EVENTS_KICK="auto", ON_LAMBDA=False)
    assert delivery_kick.send is thread_kick
    receiver = receivers()
    receiver.subscribe()
    widget = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=widget, quantity=100)
    order = order_with_lines("O1", date(2026, 1, 6), (widget, 30))

    # when: a run commits (nobody calls the dispatcher)
    allocation_run(method="FIFO", orders=[order.pk], as_of=JAN_31)

    # then: a pass in a background thread delivered its event
    assert receiver.wait_for(1, timeout=20)
    thread_kick.join(timeout=20)
    assert receiver.ids() == {Event.objects.get().public_id: 1} and receiver.received[0].verified
    assert Delivery.objects.get().status == DeliveryStatus.SUCCEEDED


def test_two_dispatchers_at_once_never_send_one_attempt_twice(postgres_only, transactional_db, receivers):
    # given: 40 orders allocated by one run, two receivers (a little slow, so that the passes overlap): 80 deliveries
    widget = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=widget, quantity=1000)
    for n in range(40):
        order_with_lines(f"O{n:02d}", date(2026, 1, 6), (widget, 1 + n % 3))
    first, second = receivers(delay=0.005), receivers(delay=0.005)
    first.subscribe()
    second.subscribe()
    allocation_run(method="FIFO", as_of=JAN_31)
    reports: list[PassReport] = []

    # when: two dispatchers pass at the same moment, each with its own connection
    errors = at_once([lambda: reports.append(deliver_pass(limit=1000))] * 2)

    # then: every event reached each receiver once; one attempt per delivery, all recorded
    assert errors == []
    expected = {event.public_id: 1 for event in Event.objects.all()}
    assert len(expected) == 40
    assert first.ids() == expected and second.ids() == expected
    assert sum(report.sent for report in reports) == 80
    assert DeliveryAttempt.objects.count() == 80
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SUCCEEDED, 1)}
