"""Lot edits never leave a lot holding less than is allocated from it."""
from datetime import date
from decimal import Decimal

import pytest

from allocation.domain import Conflict, LotOverAllocated
from allocation.models import Method
from allocation.services import allocation_release, allocation_run
from stock.models import Lot
from stock.services import lot_delete, lot_update
from tests.factories import ItemFactory, LotFactory

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 1, 25)


@pytest.fixture
def allocated(widget_example):
    allocation_run(method=Method.FIFO, as_of=AS_OF)  # L1 100 (O1), L2 20 (O1) + 30 (O2), L3 30 (O2)
    return widget_example


def test_shrinking_a_lot_below_what_is_allocated_is_refused_naming_the_orders(allocated):
    lot = allocated["lots"]["L2"]
    with pytest.raises(LotOverAllocated) as raised:
        lot_update(lot=lot, quantity=49)
    assert raised.value.orders == ["O1", "O2"]
    assert raised.value.data == {"lot": "L2", "allocated": 50, "orders": ["O1", "O2"]}
    assert "O1, O2" in raised.value.message
    assert Lot.objects.get(pk=lot.pk).quantity == 50


def test_shrinking_a_lot_to_exactly_what_is_allocated_leaves_nothing_available(allocated, books_balance):
    lot = lot_update(lot=allocated["lots"]["L3"], quantity=30)
    assert (lot.quantity, lot.allocated_quantity, lot.available_quantity) == (30, 30, 0)
    books_balance()


def test_after_a_release_the_lot_may_shrink(allocated, books_balance):
    allocation_release(order=allocated["orders"]["O2"], lot="L2")
    lot = lot_update(lot=allocated["lots"]["L2"], quantity=20, unit_cost=Decimal("13.5"))
    assert (lot.quantity, lot.allocated_quantity) == (20, 20)
    books_balance()


def test_an_allocated_lot_cannot_be_deleted_nor_one_with_history(allocated):
    with pytest.raises(LotOverAllocated) as raised:
        lot_delete(lot=allocated["lots"]["L1"])
    assert raised.value.orders == ["O1"]
    allocation_release(order=allocated["orders"]["O1"])
    with pytest.raises(Conflict):
        lot_delete(lot=allocated["lots"]["L1"])  # released, but its results stay
    assert Lot.objects.filter(reference="L1").exists()
    lot_delete(lot=allocated["lots"]["L4"])  # never used
    assert not Lot.objects.filter(reference="L4").exists()


def test_a_lot_with_allocations_cannot_change_item(allocated):
    with pytest.raises(Conflict):
        lot_update(lot=allocated["lots"]["L1"], item=ItemFactory(item_code="GADGET"))
    assert Lot.objects.get(reference="L1").item.item_code == "WIDGET"


def test_an_unknown_field_is_refused():
    lot = LotFactory()
    with pytest.raises(ValueError):
        lot_update(lot=lot, allocated_quantity=0)


def test_receiving_an_inbound_lot_makes_it_in_stock_for_the_next_run(allocated, books_balance):
    from tests.factories import order_with_lines

    lot_update(lot=allocated["lots"]["L4"], received_on=date(2026, 1, 21))
    order_with_lines("O3", date(2026, 1, 22), (allocated["item"], 100))
    report = allocation_run(method=Method.LIFO, as_of=AS_OF)
    # LIFO now takes the newest in-stock lot first: L4, received on the 21st
    assert [(p.lot_id, p.quantity) for p in report.picks] == [(allocated["lots"]["L4"].pk, 100)]
    books_balance()


def test_growing_a_lot_gives_more_to_the_next_run(allocated, books_balance):
    from tests.factories import order_with_lines

    lot_update(lot=allocated["lots"]["L1"], quantity=150)
    o3 = order_with_lines("O3", date(2026, 1, 22), (allocated["item"], 10))
    report = allocation_run(method=Method.FIFO, orders=[o3], as_of=AS_OF, allow_inbound=False)
    assert [(p.lot_id, p.quantity) for p in report.picks] == [(allocated["lots"]["L1"].pk, 10)]
    assert Lot.objects.get(reference="L1").allocated_quantity == 110
    books_balance()


def test_a_lot_named_on_order_lines_cannot_change_item_and_the_refusal_names_the_orders(widget_example):
    # given: O3 names L4 for specific identification; nothing is allocated from L4
    from tests.factories import order_with_lines

    l4 = widget_example["lots"]["L4"]
    order_with_lines("O3", date(2026, 1, 22), (widget_example["item"], 5, l4))
    # when / then
    with pytest.raises(Conflict) as refused:
        lot_update(lot=l4, item=ItemFactory(item_code="GADGET"))
    assert refused.value.data["orders"] == ["O3"]
    assert "orders O3" in refused.value.message
    assert Lot.objects.get(reference="L4").item.item_code == "WIDGET"


def test_the_api_answers_409_naming_the_orders_when_a_named_lot_would_change_item(widget_example):
    from tests.api_support import API, client_for, user_in
    from tests.factories import order_with_lines

    l4 = widget_example["lots"]["L4"]
    order_with_lines("O3", date(2026, 1, 22), (widget_example["item"], 5, l4))
    ItemFactory(item_code="GADGET")

    response = client_for(user_in("clerk")).patch(f"{API}lots/{l4.pk}/", {"item_code": "GADGET"}, format="json")

    assert response.status_code == 409
    assert response.json()["orders"] == ["O3"]
    assert Lot.objects.get(reference="L4").item.item_code == "WIDGET"
