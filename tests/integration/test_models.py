"""The database itself refuses impossible stock; statuses follow the lines."""
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from orders.models import OrderStatus
from stock.models import Lot
from tests.factories import ItemFactory, LotFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def test_a_lot_with_zero_quantity_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        LotFactory(quantity=0)


def test_a_lot_with_a_negative_cost_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        LotFactory(unit_cost=Decimal("-0.0001"))


def test_a_direct_update_cannot_allocate_more_than_a_lot_holds():
    lot = LotFactory(reference="L1", quantity=100)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE stock_lot SET allocated_quantity = 101 WHERE id = %s", [lot.pk])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE stock_lot SET allocated_quantity = -1 WHERE id = %s", [lot.pk])
    lot.refresh_from_db()
    assert lot.allocated_quantity == 0


def test_a_direct_update_cannot_shrink_a_lot_below_its_allocations():
    lot = LotFactory(reference="L1", quantity=100)
    Lot.objects.filter(pk=lot.pk).update(allocated_quantity=60)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(quantity=59)
    assert Lot.objects.get(pk=lot.pk).available_quantity == 40


def test_an_order_line_of_zero_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLineFactory(quantity=0)


def test_a_line_takes_the_items_price_when_none_is_given():
    line = OrderLineFactory(item=ItemFactory(item_code="WIDGET", unit_price=Decimal("19.50")), unit_price=None)
    assert line.unit_price == Decimal("19.50")


@pytest.mark.parametrize(
    ("ordered", "allocated", "status"),
    [(10, 0, OrderStatus.OPEN), (10, 4, OrderStatus.PARTIALLY_ALLOCATED), (10, 10, OrderStatus.ALLOCATED)],
)
def test_order_status_is_derived_from_line_totals(ordered, allocated, status):
    assert OrderStatus.derive(ordered, allocated) == status


def test_lot_querysets_classify_stock_inbound_and_expired():
    item = ItemFactory(item_code="WIDGET")
    LotFactory(reference="IN", item=item, received_on=date(2026, 1, 5))
    LotFactory(reference="LATE", item=item, received_on=date(2026, 2, 5))
    LotFactory(reference="ETA", item=item, received_on=None, eta=date(2026, 2, 1))
    LotFactory(reference="OLD", item=item, received_on=date(2026, 1, 1), expires_on=date(2026, 1, 9))
    at = date(2026, 1, 10)
    assert set(Lot.objects.in_stock(at).values_list("reference", flat=True)) == {"IN", "OLD"}
    assert set(Lot.objects.inbound(at).values_list("reference", flat=True)) == {"LATE", "ETA"}
    assert set(Lot.objects.expired(at).values_list("reference", flat=True)) == {"OLD"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the guard is a PostgreSQL trigger (see allocation 0004)")
def test_the_database_refuses_to_delete_a_lot_that_has_allocation_results():
    from allocation.services import allocation_release, allocation_run

    item = ItemFactory(item_code="WIDGET")
    lot = LotFactory(reference="L1", item=item, quantity=10, received_on=date(2026, 1, 1))
    line = OrderLineFactory(item=item, quantity=4)
    allocation_run(method="FIFO", orders=[line.order], as_of=date(2026, 1, 6))  # the order's date (2026-01-06)
    assert Lot.objects.get(pk=lot.pk).allocated_quantity == 4
    allocation_release(order=line.order)  # nothing allocated any more, but the history stays
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM stock_lot WHERE id = %s", [lot.pk])
    assert Lot.objects.filter(pk=lot.pk).exists()
    unused = LotFactory(reference="L2", item=item, quantity=10)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM stock_lot WHERE id = %s", [unused.pk])
    assert not Lot.objects.filter(pk=unused.pk).exists()
