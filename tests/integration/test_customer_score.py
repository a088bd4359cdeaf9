"""The customer score and its four parts on a small known data set, and in a fixed number of queries."""
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from allocation.models import Method
from allocation.scores import customer_metrics
from allocation.services import allocation_run, order_cancel
from orders.models import PaymentStatus
from tests.factories import CustomerFactory, ItemFactory, LotFactory, PaymentFactory, order_with_lines

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 31)


def paid(customer, due: date, on: date) -> None:
    PaymentFactory(customer=customer, due_date=due, paid_on=on, status=PaymentStatus.PAID)


@pytest.fixture
def customers(clock):
    """ACME: 10 allocated, 5 cancelled, pays 3 times (2 on time), 20 open of which stock covers 5.

    BETA: no allocations, 1 recent payment on time, 1 old on time, 1 overdue; 10 open, fully covered.
    GAMMA: nothing at all.
    """
    clock(TODAY)
    widget, gadget = ItemFactory(item_code="WIDGET"), ItemFactory(item_code="GADGET")
    LotFactory(reference="W1", item=widget, quantity=15, received_on=date(2026, 1, 5))
    LotFactory(reference="G1", item=gadget, quantity=100, received_on=date(2026, 1, 5))
    acme, beta, gamma = (CustomerFactory(code=code) for code in ("ACME", "BETA", "GAMMA"))
    order_with_lines("A1", date(2026, 1, 6), (widget, 10), customer=acme)
    order_cancel(order=order_with_lines("A2", date(2026, 1, 7), (widget, 5), customer=acme))
    allocation_run(method=Method.FIFO, as_of=date(2026, 1, 25))
    order_with_lines("A3", date(2026, 3, 1), (widget, 20), customer=acme)
    order_with_lines("B1", date(2026, 3, 2), (gadget, 10), customer=beta)
    paid(acme, date(2026, 2, 1), date(2026, 1, 30))
    paid(acme, date(2026, 2, 15), date(2026, 2, 15))
    paid(acme, date(2026, 3, 1), date(2026, 3, 5))  # late
    PaymentFactory(customer=acme, due_date=date(2026, 4, 30))  # not due yet: not judged
    PaymentFactory(customer=acme, due_date=date(2026, 1, 1), status=PaymentStatus.CANCELLED)
    paid(beta, date(2026, 3, 10), date(2026, 3, 9))
    paid(beta, date(2025, 6, 1), date(2025, 5, 30))  # outside the 90-day window
    PaymentFactory(customer=beta, due_date=date(2026, 3, 20))  # overdue
    return acme, beta, gamma


def test_each_part_and_the_score_come_out_exactly(customers):
    acme, beta, gamma = customers
    metrics = customer_metrics(today=TODAY)
    assert metrics[acme.pk].as_dict() == {
        "performance": 0.6667, "payment_frequency": 1.0, "credit_adherence": 0.6667, "stock_availability": 0.25,
        "score": 66.6667,
    }
    assert metrics[beta.pk].as_dict() == {
        "performance": 0.5, "payment_frequency": 0.3333, "credit_adherence": 0.6667, "stock_availability": 1.0,
        "score": 60.0,
    }
    assert metrics[gamma.pk].as_dict() == {
        "performance": 0.5, "payment_frequency": 0.0, "credit_adherence": 0.5, "stock_availability": 0.0, "score": 27.5,
    }
    assert metrics[acme.pk].performance == pytest.approx(2 / 3)
    assert metrics[acme.pk].score == pytest.approx(20 + 25 + 50 / 3 + 5)


def test_the_score_of_some_customers_equals_their_score_among_all(customers):
    acme, beta, _ = customers
    assert customer_metrics([beta.pk], today=TODAY) == {beta.pk: customer_metrics(today=TODAY)[beta.pk]}


def test_the_better_scored_customer_is_served_first_under_the_customer_score_policy(customers):
    acme, beta, _ = customers
    widget = ItemFactory(item_code="WIDGET")
    LotFactory(reference="W2", item=widget, quantity=4, received_on=date(2026, 3, 3))
    order_with_lines("B2", date(2026, 2, 20), (widget, 4), customer=beta)  # older than A3
    by_date = allocation_run(method=Method.FIFO, as_of=date(2026, 3, 30), dry_run=True)
    report = allocation_run(method=Method.FIFO, as_of=date(2026, 3, 30), policy="customer_score")
    # ACME's A3 (score 70.67 with 9 of 20 covered) outranks BETA's B2 (60.0) though B2 is older
    assert [o["order_number"] for o in by_date.outcomes] == ["B2", "A3", "B1"]
    assert [(o["order_number"], o["quantity"]) for o in report.outcomes] == [("A3", 9), ("B2", 0), ("B1", 10)]


def _make_customers(start: int, count: int) -> None:
    widget = ItemFactory(item_code="WIDGET")
    for n in range(start, start + count):
        customer = CustomerFactory(code=f"X{n:03d}")
        order_with_lines(f"X{n:03d}-1", date(2026, 3, 1), (widget, 3), customer=customer)
        paid(customer, date(2026, 3, 1), date(2026, 2, 28 - n % 20))


def test_all_customers_are_scored_in_the_same_fixed_number_of_queries(clock, django_assert_max_num_queries):
    clock(TODAY)
    LotFactory(reference="W9", item=ItemFactory(item_code="WIDGET"), quantity=40, received_on=date(2026, 1, 5))
    _make_customers(0, 3)
    with CaptureQueriesContext(connection) as few:
        assert len(customer_metrics(today=TODAY)) == 3
    _make_customers(3, 27)
    assert len(few) <= 8
    with django_assert_max_num_queries(len(few)):
        assert len(customer_metrics(today=TODAY)) == 30


def test_the_stock_availability_part_summed_by_the_database_equals_the_policys_own_sum(clock):
    """`scores.open_coverage` (one SQL statement) says what `policies.open_quantity_coverage` says line by line."""
    import random

    from allocation.models import AllocationResult
    from allocation.policies import open_quantity_coverage
    from allocation.scores import open_coverage
    from orders.models import ALLOCATABLE_STATUSES, OrderLine
    from stock.models import Lot

    clock(date(2026, 2, 1))
    rng = random.Random(7)
    items = [ItemFactory(item_code=f"I{n}") for n in range(4)]
    for item in items:  # in stock, expired, inbound: only the first counts as available
        LotFactory(item=item, quantity=rng.randint(5, 40), received_on=date(2026, 1, 5))
        LotFactory(item=item, quantity=50, received_on=date(2026, 1, 2), expires_on=date(2026, 1, 20))
        LotFactory(item=item, quantity=50, received_on=None, eta=date(2026, 3, 1))
    customers = [CustomerFactory(code=f"K{n}") for n in range(5)]
    for n in range(40):
        picked = rng.sample(items, rng.randint(1, 3))
        order = order_with_lines(f"R{n}", date(2026, 1, 10 + n % 15), *[(i, rng.randint(1, 9)) for i in picked])
        order.customer = rng.choice(customers)
        order.save()
    allocation_run(method=Method.FIFO, as_of=date(2026, 1, 25), orders=[o for o in rng.sample(
        list(OrderLine.objects.values_list("order_id", flat=True).distinct()), 10)])
    # the Python sum, line by line, as the policy does it
    today = date(2026, 2, 1)
    available = {}
    for lot in Lot.objects.in_stock(today).not_expired(today):
        available[lot.item_id] = available.get(lot.item_id, 0) + lot.quantity - lot.allocated_quantity
    held = {}
    for line_id, quantity in AllocationResult.objects.active().values_list("order_line_id", "allocated_quantity"):
        held[line_id] = held.get(line_id, 0) + quantity
    lines = [(customer, item, quantity - held.get(line, 0)) for line, customer, item, quantity in OrderLine.objects.filter(
        order__status__in=ALLOCATABLE_STATUSES).values_list("id", "order__customer_id", "item_id", "quantity")]
    expected = open_quantity_coverage(lines, available)
    assert expected and open_coverage([c.pk for c in customers], today) == pytest.approx(expected)
