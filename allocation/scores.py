"""Reads for the customer score (policy `customer_score`, `customers/{id}/metrics/`): the history parts of
each customer, and the score of all four parts (see `allocation.policies` for what the parts mean).

Weights in settings.ALLOCATION_SCORE_WEIGHTS (default 30/25/25/20); payments count over the last
ALLOCATION_PAYMENT_WINDOW_DAYS (90). A customer with no history gets NEUTRAL (0.5) for performance and
credit adherence and 0 for payment frequency; an order without a customer is ranked on availability only.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from allocation.models import AllocationResult
from allocation.policies import NEUTRAL, open_quantity_coverage, weighted_score
from orders.models import ALLOCATABLE_STATUSES, Customer, OrderLine, OrderStatus, Payment, PaymentStatus
from stock.models import Lot


@dataclass(frozen=True, slots=True)
class CustomerMetrics:
    performance: float
    payment_frequency: float
    credit_adherence: float
    stock_availability: float
    score: float

    def as_dict(self) -> dict[str, float]:
        return {key: round(value, 4) for key, value in asdict(self).items()}


def _ratio(part: float, whole: float, default: float) -> float:
    return part / whole if whole else default


def customer_history_parts(
    customer_ids: list[int] | None = None, *, today: date | None = None,
) -> dict[int, tuple[float, float, float]]:
    """Return (performance, payment_frequency, credit_adherence) per customer in 3 queries."""
    today = today or timezone.localdate()
    window_start = today - timedelta(days=settings.ALLOCATION_PAYMENT_WINDOW_DAYS)
    only = {"order__customer_id__in": customer_ids} if customer_ids is not None else {}
    allocated = dict(
        AllocationResult.objects.active().filter(order__customer__isnull=False, **only)
        .values_list("order__customer_id").annotate(q=Sum("allocated_quantity")).order_by()
    )
    cancelled = dict(
        OrderLine.objects.filter(order__status=OrderStatus.CANCELLED, order__customer__isnull=False, **only)
        .values_list("order__customer_id").annotate(q=Sum("quantity")).order_by()
    )
    # Frequency is relative to the most frequent customer of all, so this one is never filtered.
    payments = (
        Payment.objects.exclude(status=PaymentStatus.CANCELLED).values_list("customer_id").annotate(
            recent=Count("id", filter=Q(paid_on__gte=window_start, paid_on__lte=today)),
            judged=Count("id", filter=Q(paid_on__isnull=False) | Q(due_date__lt=today)),
            on_time=Count("id", filter=Q(paid_on__isnull=False, paid_on__lte=F("due_date"))),
        ).order_by()
    )
    payment_rows = {row[0]: row[1:] for row in payments}
    most_recent = max((row[0] for row in payment_rows.values()), default=0)
    ids = customer_ids if customer_ids is not None else set(allocated) | set(cancelled) | set(payment_rows)
    parts = {}
    for customer_id in ids:
        got, lost = allocated.get(customer_id, 0), cancelled.get(customer_id, 0)
        recent, judged, on_time = payment_rows.get(customer_id, (0, 0, 0))
        parts[customer_id] = (
            _ratio(got, got + lost, NEUTRAL),
            _ratio(recent, most_recent, 0.0),
            _ratio(on_time, judged, NEUTRAL),
        )
    return parts


def available_on_hand(item_ids: list[int] | None = None, *, today: date | None = None) -> dict[int, int]:
    """Return each item's available quantity in stock and unexpired at `today`."""
    today = today or timezone.localdate()
    lots = Lot.objects.in_stock(today).not_expired(today)
    if item_ids is not None:
        lots = lots.filter(item_id__in=item_ids)
    rows = lots.values_list("item_id").annotate(q=Sum("quantity") - Sum("allocated_quantity")).order_by()
    return dict(rows)


def customer_metrics(customer_ids: list[int] | None = None, *, today: date | None = None) -> dict[int, CustomerMetrics]:
    """Return the score and its parts for the given customers (None: all) in a fixed number of queries."""
    today = today or timezone.localdate()
    if customer_ids is None:
        customer_ids = list(Customer.objects.values_list("id", flat=True))
    history = customer_history_parts(customer_ids, today=today)
    open_lines = list(
        OrderLine.objects.filter(order__customer_id__in=customer_ids, order__status__in=ALLOCATABLE_STATUSES)
        .values_list("id", "order__customer_id", "item_id", "quantity")
    )
    allocated = dict(
        AllocationResult.objects.active().filter(
            order__customer_id__in=customer_ids, order__status__in=ALLOCATABLE_STATUSES,
        )
        .values_list("order_line_id").annotate(q=Sum("allocated_quantity")).order_by()
    ) if open_lines else {}
    on_hand = available_on_hand(list({row[2] for row in open_lines}), today=today) if open_lines else {}
    coverage = open_quantity_coverage(
        [(customer, item, quantity - allocated.get(line, 0)) for line, customer, item, quantity in open_lines], on_hand,
    )
    metrics = {}
    for customer_id in customer_ids:
        performance, frequency, adherence = history.get(customer_id, (NEUTRAL, 0.0, NEUTRAL))
        availability = coverage.get(customer_id, 0.0)
        metrics[customer_id] = CustomerMetrics(
            performance, frequency, adherence, availability,
            weighted_score(settings.ALLOCATION_SCORE_WEIGHTS, performance, frequency, adherence, availability),
        )
    return metrics
