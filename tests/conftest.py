"""Shared fixtures: the worked example of ALLOCATION.md and friends."""
import os
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings

from tests.factories import ItemFactory, LotFactory, order_with_lines
from tests.webhook_support import Receivers

# In CI the property tests replay the same examples every run (a red build is
# then a real regression, not a new random draw); locally they explore anew.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
    hypothesis_settings.load_profile("ci")


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


# --- allocation engine suite ---------------------------------------------------

@pytest.fixture
def clock(monkeypatch):
    """Set the business clock: `clock(date(2026, 2, 1))` makes it noon of that day, local time.

    Patches Django's `timezone.now`, which the services read for today, release stamps and run times.
    """
    from datetime import datetime, time

    from django.utils import timezone

    def set_today(day: date) -> None:
        moment = timezone.make_aware(datetime.combine(day, time(12)))
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_today


@pytest.fixture
def books_balance():
    """Return a check that every lot's stored allocated quantity and every order's status match the results."""
    from django.db.models import Sum

    from allocation.models import AllocationResult
    from orders.models import Order, OrderStatus
    from stock.models import Lot

    def check() -> None:
        active = dict(AllocationResult.objects.active().values_list("lot_id").annotate(q=Sum("allocated_quantity"))
                      .order_by())
        for lot_id, quantity, allocated in Lot.objects.values_list("id", "quantity", "allocated_quantity"):
            assert allocated == active.get(lot_id, 0), f"lot {lot_id}"
            assert 0 <= allocated <= quantity, f"lot {lot_id}"
        by_order = {order_id: (allocated, shipped) for order_id, allocated, shipped in
                    AllocationResult.objects.active().values_list("order_id")
                    .annotate(a=Sum("allocated_quantity"), s=Sum("shipped_quantity")).order_by()}
        for order in Order.objects.annotate(ordered=Sum("lines__quantity")):
            held = by_order.get(order.pk, (0, 0))
            if order.status != OrderStatus.CANCELLED:
                assert order.status == OrderStatus.derive(order.ordered or 0, *held), order.order_number
            else:
                assert held == (0, 0), order.order_number
        shipped = dict(AllocationResult.objects.active().values_list("lot_id").annotate(q=Sum("shipped_quantity"))
                       .order_by())
        for lot_id, allocated, lot_shipped in Lot.objects.values_list("id", "allocated_quantity", "shipped_quantity"):
            assert lot_shipped == shipped.get(lot_id, 0) and 0 <= lot_shipped <= allocated, f"lot {lot_id}"
        by_line = dict(AllocationResult.objects.active().values_list("order_line_id").annotate(q=Sum("allocated_quantity"))
                       .order_by())
        from orders.models import OrderLine
        for line_id, quantity in OrderLine.objects.values_list("id", "quantity"):
            assert by_line.get(line_id, 0) <= quantity, f"line {line_id}"

    return check


@pytest.fixture(autouse=True)
def _empty_cache():
    """Start every test with an empty cache: the API's token throttle counts requests in it."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _restore_script_prefix():
    """Put back Django's URL prefix after each test (a WSGI call with SCRIPT_NAME, e.g. Lambda's /dev, sets it)."""
    from django.urls import get_script_prefix, set_script_prefix

    prefix = get_script_prefix()
    yield
    set_script_prefix(prefix)


@pytest.fixture
def receivers():
    """Webhook receivers on 127.0.0.1 (`receivers()` starts one; see tests.webhook_support), stopped after the test."""
    pool = Receivers()
    yield pool
    pool.stop_all()
