"""Domain events are written in the same transaction as the change they tell of (ALLOCATION.md's worked example)."""
import json
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from allocation.domain import InsufficientStock
from allocation.event_data import fill_data
from allocation.events import Subscriptions
from allocation.models import AllocationRun, Delivery, Event, EventType
from allocation.services import allocation_release, allocation_run, order_cancel
from allocation.webhooks import webhook_create, webhook_update
from allocation.writes import INLINE_RESULTS
from orders.models import Order
from stock.services import lot_update
from tests.factories import ItemFactory, LotFactory, order_with_lines

pytestmark = pytest.mark.django_db
JAN_25 = date(2026, 1, 25)


def events(kind: str | None = None) -> list[tuple[Event, dict]]:
    rows = Event.objects.order_by("id")
    if kind:
        rows = rows.filter(type=kind)
    rows = list(rows)
    fill_data(rows)  # a run's events are made from its rows when read
    return [(event, json.loads(event.data)) for event in rows]


def test_a_run_writes_one_allocated_event_per_order_with_its_picks_to_the_cent(widget_example):
    # when
    run = allocation_run(method="FIFO", as_of=JAN_25).run
    # then: O1 took L1 100 @ 10 and L2 20 @ 13; O2 took L2 30 @ 13 and L3 30 @ 11.5
    allocated = events(EventType.ALLOCATED)
    assert [data["order"]["number"] for _, data in allocated] == ["O1", "O2"]
    (e1, o1), (e2, o2) = allocated
    assert (e1.run_id, e1.sequence, o1["sequence"], o1["run"], o1["method"], o1["as_of"]) == (
        run.pk, 1, 1, run.pk, "FIFO", "2026-01-25")
    assert [(p["lot_reference"], p["quantity"], p["unit_cost"], p["amount"]) for p in o1["picks"]] == [
        ("L1", 100, "10.0000", "1000.00"), ("L2", 20, "13.0000", "260.00")]
    assert (o1["outcome"], o1["quantity"], o1["amount"]) == ("allocated", 120, "1260.00")
    assert [(p["lot_reference"], p["quantity"], p["amount"]) for p in o2["picks"]] == [
        ("L2", 30, "390.00"), ("L3", 30, "345.00")]
    assert o2["amount"] == "735.00" and o2["picks"][0]["item_code"] == "WIDGET"
    assert not events(EventType.SHORT)
    assert dict(Order.objects.values_list("order_number", "event_sequence")) == {"O1": 1, "O2": 1}


def test_an_order_left_short_gets_an_order_short_event_after_its_allocated_one(widget_example):
    # given: only in-stock lots (250 units) and a third order of 200
    widget = widget_example["item"]
    order_with_lines("O3", date(2026, 1, 20), (widget, 200))
    # when
    allocation_run(method="FIFO", as_of=JAN_25, allow_inbound=False)
    # then: O3 got the 70 left and is short 130
    o3 = [(event.type, event.sequence, data) for event, data in events() if data["order"]["number"] == "O3"]
    assert [(kind, sequence) for kind, sequence, _ in o3] == [(EventType.ALLOCATED, 1), (EventType.SHORT, 2)]
    short = o3[1][2]
    assert (short["outcome"], short["reason"], short["sequence"]) == ("partial", "not enough stock", 2)
    assert [(s["item_code"], s["requested"], s["allocated"], s["short"]) for s in short["shortfalls"]] == [
        ("WIDGET", 200, 70, 130)]


def test_a_dry_run_and_a_refused_run_write_no_event(widget_example):
    allocation_run(method="FIFO", as_of=JAN_25, dry_run=True)
    big = order_with_lines("BIG", date(2026, 1, 20), (widget_example["item"], 10_000))
    with pytest.raises(InsufficientStock):
        allocation_run(method="FIFO", as_of=JAN_25, orders=[big], allow_partial=False)
    assert not Event.objects.exists() and not AllocationRun.objects.exists()


def test_a_rolled_back_run_leaves_no_event_and_no_delivery(widget_example):
    webhook_create(url="http://127.0.0.1:9/hook")
    with pytest.raises(RuntimeError), transaction.atomic():
        allocation_run(method="FIFO", as_of=JAN_25)
        assert Event.objects.count() == 2 and Delivery.objects.count() == 2
        raise RuntimeError("the caller's transaction fails after the run")
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert set(Order.objects.values_list("event_sequence", flat=True)) == {0}


def test_release_and_cancel_continue_each_order_s_sequence(widget_example):
    o1, o2 = widget_example["orders"]["O1"], widget_example["orders"]["O2"]
    allocation_run(method="FIFO", as_of=JAN_25)
    # when
    allocation_release(order=o1)
    order_cancel(order=o2)
    # then
    o1_events = [(e.type, e.sequence) for e, data in events() if data["order"]["id"] == o1.pk]
    o2_events = [(e.type, e.sequence) for e, data in events() if data["order"]["id"] == o2.pk]
    assert o1_events == [(EventType.ALLOCATED, 1), (EventType.RELEASED, 2)]
    assert o2_events == [(EventType.ALLOCATED, 1), (EventType.RELEASED, 2), (EventType.CANCELLED, 3)]
    (_, released), = [(e, d) for e, d in events(EventType.RELEASED) if d["order"]["id"] == o1.pk]
    assert (released["status"], released["quantity"]) == ("open", 120)
    assert [(p["lot_reference"], p["quantity"]) for p in released["picks"]] == [("L1", 100), ("L2", 20)]
    (_, cancelled), = events(EventType.CANCELLED)
    assert (cancelled["status"], cancelled["released"], cancelled["sequence"]) == ("cancelled", 60, 3)


def test_a_lot_edit_of_quantity_or_dates_is_an_event_and_a_note_is_not(widget_example):
    l4 = widget_example["lots"]["L4"]
    lot_update(lot=l4, note="called the supplier")
    assert not events(EventType.LOT_CHANGED)
    lot_update(lot=l4, quantity=180, eta=date(2026, 2, 12))
    (event, data), = events(EventType.LOT_CHANGED)
    assert (event.lot_id, event.order_id, event.sequence) == (l4.pk, None, None)
    assert data["changes"] == {"quantity": {"from": 200, "to": 180}, "eta": {"from": "2026-02-10", "to": "2026-02-12"}}
    assert (data["lot"]["reference"], data["available_quantity"]) == ("L4", 180)


def test_closing_a_period_is_an_event_with_the_re_costed_amounts(clock):
    from allocation.services import period_close

    # given: a January total-average pick made on Jan 10 with only L1 received (provisional 10.00)
    clock(date(2026, 1, 10))
    widget = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=widget, received_on=date(2026, 1, 5), quantity=100, unit_cost=Decimal("10"))
    order_with_lines("O1", date(2026, 1, 6), (widget, 50))
    allocation_run(method="TOTAL_AVERAGE", as_of=date(2026, 1, 10))
    LotFactory(reference="L2", item=widget, received_on=date(2026, 1, 20), quantity=100, unit_cost=Decimal("12"))
    # when: February, January is closed (its average is 11)
    clock(date(2026, 2, 3))
    period_close(period="2026-01")
    # then
    (_, data), = events(EventType.PERIOD_CLOSED)
    assert (data["period"], data["results_recosted"]) == ("2026-01", 1)
    assert data["items"]["WIDGET"] == {"average": "11.0000", "results": 1, "quantity": 50, "old_amount": "500.00",
                                       "new_amount": "550.00", "difference": "50.00"}
    # and the run's allocated event still says what was allocated then: the provisional cost, not final
    (_, allocated), = events(EventType.ALLOCATED)
    assert [(p["unit_cost"], p["amount"], p["cost_final"]) for p in allocated["picks"]] == [("10.0000", "500.00", False)]
    assert (allocated["quantity"], allocated["amount"]) == (50, "500.00")


def test_a_run_event_is_written_without_a_copy_of_its_picks_and_reads_the_same_every_time(widget_example):
    # given
    allocation_run(method="FIFO", as_of=JAN_25)
    o1 = widget_example["orders"]["O1"]
    first = [data for _, data in events(EventType.ALLOCATED)]
    # when: O1 is released (its picks stay as rows, released) and its number changes
    allocation_release(order=o1)
    Order.objects.filter(pk=o1.pk).update(order_number="O1-renamed")
    # then: the rows hold no data text, and the events say what they said
    assert set(Event.objects.filter(type=EventType.ALLOCATED).values_list("data", flat=True)) == {""}
    assert [data for _, data in events(EventType.ALLOCATED)] == first
    assert first[0]["order"]["number"] == "O1"


@pytest.mark.parametrize("orders", [2, INLINE_RESULTS + 5], ids=["inside the closing statement", "copied"])
def test_each_subscribed_endpoint_gets_a_delivery_of_each_run_event(orders):
    # given: two endpoints, one for every type, one for order.short only; an inactive one
    widget = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=widget, received_on=date(2026, 1, 5), quantity=orders - 1)
    for n in range(orders):
        order_with_lines(f"O{n}", date(2026, 1, 6), (widget, 1))
    every = webhook_create(url="http://127.0.0.1:9/every")
    short = webhook_create(url="http://127.0.0.1:9/short", events=[EventType.SHORT])
    webhook_update(endpoint=webhook_create(url="http://127.0.0.1:9/off"), active=False)
    # when: the last order finds nothing
    allocation_run(method="FIFO", as_of=JAN_25)
    # then
    assert Event.objects.filter(type=EventType.ALLOCATED).count() == orders - 1
    assert Event.objects.filter(type=EventType.SHORT).count() == 1
    assert Delivery.objects.filter(endpoint=every).count() == orders
    assert list(Delivery.objects.filter(endpoint=short).values_list("event__type", flat=True)) == [EventType.SHORT]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}


def test_subscriptions_list_each_active_endpoint_with_its_types(db):
    every = webhook_create(url="http://127.0.0.1:9/a")
    some = webhook_create(url="http://127.0.0.1:9/b", events=[EventType.SHIPPED, EventType.SHORT])
    subscriptions = Subscriptions.active()
    assert subscriptions.endpoints_for(EventType.SHORT) == sorted([every.pk, some.pk])
    assert subscriptions.endpoints_for(EventType.ALLOCATED) == [every.pk]
