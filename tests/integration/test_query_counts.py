"""A run costs the same number of queries for 10 orders as for 1,000."""
import random
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from allocation import writes
from allocation.models import AllocationRun, Method
from allocation.services import allocation_run
from inventory_alloc.history import system_user_id
from orders.models import Customer, Order, OrderLine
from stock.models import Item, Lot

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 2, 27)


@pytest.fixture
def stockroom():
    """Six items, each with three received lots (one expired) and one inbound lot; ten customers."""
    items = Item.objects.bulk_create(Item(item_code=f"ITEM{n}", name=f"Item {n}") for n in range(6))
    lots = []
    for item in items:
        for k, received in enumerate((date(2026, 1, 5), date(2026, 1, 20), date(2026, 2, 3))):
            lots.append(Lot(reference=f"{item.item_code}-L{k}", item=item, quantity=10_000, unit_cost=Decimal(10 + k),
                            received_on=received, expires_on=date(2026, 2, 1) if k == 0 else None))
        lots.append(Lot(reference=f"{item.item_code}-IN", item=item, quantity=10_000, unit_cost=Decimal("9.5"),
                        eta=date(2026, 3, 10)))
    Lot.objects.bulk_create(lots)
    customers = Customer.objects.bulk_create(Customer(code=f"C{n}", name=f"Customer {n}") for n in range(10))
    return items, customers


def add_orders(count: int, items, customers, seed: int) -> None:
    rng = random.Random(seed)
    start = Order.objects.count()
    orders = Order.objects.bulk_create(
        Order(order_number=f"Q{start + n}", customer=rng.choice(customers), order_date=date(2026, 2, 1 + n % 20),
              priority=rng.randint(0, 3))
        for n in range(count)
    )
    OrderLine.objects.bulk_create(
        OrderLine(order=order, item=item, quantity=rng.randint(1, 5), unit_price=Decimal("20"))
        for order in orders for item in rng.sample(items, rng.randint(1, 3))
    )


def queries_of_a_run(method: str, policy: str) -> tuple[int, int, int]:
    # once per process and database, not per run: the history's content type (cached) and its "system" user
    ContentType.objects.get_for_model(AllocationRun)
    system_user_id()
    with CaptureQueriesContext(connection) as captured:
        report = allocation_run(method=method, as_of=AS_OF, policy=policy)
    assert report.run.orders_fully_allocated == report.run.orders_considered  # ample stock: no shortfall branch
    return len(captured), report.run.orders_considered, len(report.picks)


# A run is a fixed set of statements, whatever its size: a few reads, the locks, and bulk writes
# (a big run may COPY its results and its outcomes in statements of their own, so 10 and 1,000 share a bound).
RUN_QUERY_BOUND = 21


@pytest.mark.parametrize(("method", "policy"), [
    (Method.FIFO, "order_date"),
    (Method.MOVING_AVERAGE, "customer_score"),
    (Method.TOTAL_AVERAGE, "priority"),
])
def test_a_run_over_1000_orders_runs_as_many_queries_as_one_over_10(stockroom, method, policy):
    items, customers = stockroom
    # given: 10 open orders
    add_orders(10, items, customers, seed=1)
    few, considered, picks = queries_of_a_run(method, policy)
    assert considered == 10 and picks <= writes.INLINE_RESULTS
    # when: 1,000 more (the first ten are allocated now and no longer open)
    add_orders(1000, items, customers, seed=2)
    many, considered, picks = queries_of_a_run(method, policy)
    # then
    assert considered == 1000 and picks > writes.INLINE_RESULTS
    assert few <= RUN_QUERY_BOUND and many <= RUN_QUERY_BOUND, (few, many)
    # PostgreSQL inserts a small run's own row, results, outcomes, events, their deliveries (to the endpoints
    # it reads in the same statement) and its history entry (its user read there too) inside its closing
    # statement; a big run inserts its row first, COPYs its results, outcomes and events, reads the endpoints
    # and the "system" user and enters its history: seven statements more from that size on, and no more
    # however big it gets.
    assert many == few + 7 * (connection.vendor == "postgresql"), (few, many)


def test_releasing_1000_orders_runs_as_many_queries_as_releasing_10(stockroom):
    from allocation.services import allocation_release

    items, customers = stockroom
    add_orders(1010, items, customers, seed=3)
    allocation_run(method=Method.FIFO, as_of=AS_OF)
    ids = list(Order.objects.order_by("id").values_list("id", flat=True))
    ContentType.objects.get_for_model(Order)  # the history's content type, cached once per process
    with CaptureQueriesContext(connection) as few:
        assert allocation_release(orders=ids[:10]).released >= 10
    with CaptureQueriesContext(connection) as many:
        assert allocation_release(orders=ids[10:]).released >= 1000
    # (of which 7 on SQLite, 5 on PostgreSQL, write the events of the orders released: see allocation.events;
    # and 3 their history: the orders' numbers, the "system" user, one INSERT: see inventory_alloc.history)
    assert len(many) == len(few) <= 21
