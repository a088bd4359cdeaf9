"""The admin index dashboard: stock per item, open orders and fill rate, expiring lots, last runs.

Everything comes from a fixed number of aggregate queries (10), whatever the
number of items, lots or orders. The chart is drawn here as plain geometry
for an inline SVG in the template: no script, no internet resource.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from allocation.models import AllocationResult, AllocationRun
from orders.models import ALLOCATABLE_STATUSES, Order, OrderLine, OrderStatus
from stock.models import Item, Lot
from stock.selectors import stock_figures

TOP_ITEMS = 10
EXPIRY_DAYS = 30
EXPIRING_SHOWN = 10
LAST_RUNS = 5
CHART_WIDTH, CHART_LABEL, CHART_VALUES, CHART_ROW = 560, 90, 96, 24  # label column, value column, row height


@dataclass(frozen=True, slots=True)
class Bar:
    """One row of the allocated-vs-available chart, in SVG user units."""

    y: int
    label: str
    allocated: int
    available: int
    allocated_width: float
    available_width: float

    @property
    def available_x(self) -> float:
        return CHART_LABEL + self.allocated_width

    @property
    def text_y(self) -> int:
        return self.y + CHART_ROW // 2 + 4


def item_stock(today: date, limit: int = TOP_ITEMS) -> list[Item]:
    """Return the items with the most allocated stock, with the figures of `stock.selectors` (on_hand_units, ...)."""
    return list(
        Item.objects.annotate(**stock_figures(today))
        .filter(Q(on_hand_units__gt=0) | Q(inbound_units__gt=0) | Q(allocated_units__gt=0))
        .order_by("-allocated_units", "-on_hand_units", "item_code")[:limit]
    )


def stock_totals(today: date) -> dict[str, int]:
    figures = stock_figures(today, prefix="")
    del figures["next_expiry"]
    return Lot.objects.aggregate(**figures)


def _rate(part: int | None, whole: int | None) -> Decimal | None:
    return (Decimal(100) * (part or 0) / whole).quantize(Decimal("0.1")) if whole else None


RECENT_DAYS = 30  # the second fill rate: orders placed in these last days (not the whole history)


def order_figures(today: date) -> dict:
    """Return order counts by status and the fill rates (allocated / ordered quantity) of open orders and of the
    orders of the last RECENT_DAYS days (not cancelled): sums over those orders only, never the whole history."""
    counts = Order.objects.aggregate(
        **{status.value: Count("id", filter=Q(status=status)) for status in OrderStatus},
    )
    open_orders = Order.objects.filter(status__in=ALLOCATABLE_STATUSES).values("id")
    recent = Order.objects.filter(order_date__gte=today - timedelta(days=RECENT_DAYS)).exclude(
        status=OrderStatus.CANCELLED).values("id")
    # One sum per set of orders, each reading only those orders' rows (by the order_id indexes).
    ordered, allocated = {}, {}
    for name, orders in (("open", open_orders), ("recent", recent)):
        ordered[name] = OrderLine.objects.filter(order_id__in=orders).aggregate(q=Sum("quantity"))["q"]
        allocated[name] = AllocationResult.objects.active().filter(order_id__in=orders).aggregate(
            q=Sum("allocated_quantity"))["q"]
    return {
        "by_status": [(status.label, counts[status.value], status.value) for status in OrderStatus],
        "open_count": sum(counts[s] for s in ALLOCATABLE_STATUSES),
        "open_ordered": ordered["open"] or 0, "open_allocated": allocated["open"] or 0,
        "open_fill_rate": _rate(allocated["open"], ordered["open"]),
        "recent_fill_rate": _rate(allocated["recent"], ordered["recent"]), "recent_days": RECENT_DAYS,
    }


def expiring_lots(today: date) -> tuple[list[Lot], int]:
    """Return the first lots with stock left that expire in the next EXPIRY_DAYS days, and how many there are."""
    lots = Lot.objects.filter(
        expires_on__gte=today, expires_on__lte=today + timedelta(days=EXPIRY_DAYS), quantity__gt=F("allocated_quantity"),
    )
    shown = list(lots.select_related("item").order_by("expires_on", "id")[:EXPIRING_SHOWN])
    return shown, lots.count()


def chart(items: list[Item]) -> dict:
    """Lay out the allocated-vs-available bars of the given items."""
    scale = max((item.allocated_units + max(item.available_units, 0) for item in items), default=0) or 1
    span = CHART_WIDTH - CHART_LABEL - CHART_VALUES
    bars = [
        Bar(i * CHART_ROW, item.item_code, item.allocated_units, item.available_units,
            round(span * item.allocated_units / scale, 1), round(span * max(item.available_units, 0) / scale, 1))
        for i, item in enumerate(items)
    ]
    return {
        "bars": bars, "width": CHART_WIDTH, "height": len(bars) * CHART_ROW + 26, "left": CHART_LABEL,
        "label_x": CHART_LABEL - 6, "value_x": CHART_WIDTH - 2, "legend_y": len(bars) * CHART_ROW + 16,
        "bar_height": CHART_ROW - 6, "scale": scale,
    }


def dashboard(today: date | None = None) -> dict:
    """Return everything the admin index dashboard shows."""
    today = today or timezone.localdate()
    items = item_stock(today)
    lots, expiring_count = expiring_lots(today)
    return {
        "today": today, "items": items, "totals": stock_totals(today), "orders": order_figures(today),
        "expiring": lots, "expiring_count": expiring_count, "expiry_days": EXPIRY_DAYS,
        "runs": list(AllocationRun.objects.select_related("started_by").defer("requested_orders")[:LAST_RUNS]),
        "chart": chart(items),
    }
