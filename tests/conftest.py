"""Shared fixtures: the worked example of ALLOCATION.md and friends."""
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from tests.factories import ItemFactory, LotFactory, order_with_lines


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def widget_example(db):
    """Item WIDGET with lots L1-L4 and orders O1 (120) and O2 (60) of ALLOCATION.md."""
    widget = ItemFactory(item_code="WIDGET", name="Widget")
    lots = {
        "L1": LotFactory(reference="L1", item=widget, received_on=date(2026, 1, 5), quantity=100, unit_cost=Decimal("10")),
        "L2": LotFactory(reference="L2", item=widget, received_on=date(2026, 1, 10), quantity=50, unit_cost=Decimal("13")),
        "L3": LotFactory(reference="L3", item=widget, received_on=date(2026, 1, 20), quantity=100,
                         unit_cost=Decimal("11.5")),
        "L4": LotFactory(reference="L4", item=widget, received_on=None, eta=date(2026, 2, 10), quantity=200,
                         unit_cost=Decimal("12")),
    }
    orders = {
        "O1": order_with_lines("O1", date(2026, 1, 6), (widget, 120)),
        "O2": order_with_lines("O2", date(2026, 1, 12), (widget, 60)),
    }
    return {"item": widget, "lots": lots, "orders": orders}
