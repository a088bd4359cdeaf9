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
from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from allocation.models import AllocationResult
from allocation.policies import NEUTRAL, weighted_score
from allocation.sql import is_postgres, table
from orders.models import ALLOCATABLE_STATUSES, Customer, Order, OrderLine, OrderStatus, Payment, PaymentStatus
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


def customer_metrics(customer_ids: list[int] | None = None, *, today: date | None = None) -> dict[int, CustomerMetrics]:
    """Return the score and its parts for the given customers (None: all) in a fixed number of queries."""
    today = today or timezone.localdate()
    if customer_ids is None:
        customer_ids = list(Customer.objects.values_list("id", flat=True))
    history = customer_history_parts(customer_ids, today=today)
    coverage = open_coverage(customer_ids, today)
    metrics = {}
    for customer_id in customer_ids:
        performance, frequency, adherence = history.get(customer_id, (NEUTRAL, 0.0, NEUTRAL))
        availability = coverage.get(customer_id, 0.0)
        metrics[customer_id] = CustomerMetrics(
            performance, frequency, adherence, availability,
            weighted_score(settings.ALLOCATION_SCORE_WEIGHTS, performance, frequency, adherence, availability),
        )
    return metrics


def open_coverage(customer_ids: list[int], today: date) -> dict[int, float]:
    """Return per customer the share of its open quantity that available stock covers, line by line (the
    stock availability part; `allocation.policies.open_quantity_coverage` says it in Python).

    One statement: the lines' open quantities and the items' available stock are summed by the database,
    which sends back one row per customer, not every open line to sum in Python.
    """
    if not customer_ids:
        return {}
    ids = ", ".join(["%s"] * len(customer_ids))
    statuses = ", ".join(["%s"] * len(ALLOCATABLE_STATUSES))
    sql = f"""
        WITH held AS (
            SELECT r.order_line_id AS line_id, SUM(r.allocated_quantity) AS q
            FROM {table(AllocationResult)} r JOIN {table(Order)} o ON o.id = r.order_id
            WHERE r.released_at IS NULL AND o.customer_id IN ({ids}) AND o.status IN ({statuses})
            GROUP BY r.order_line_id),
        stock AS (
            SELECT item_id, SUM(quantity) - SUM(allocated_quantity) AS q FROM {table(Lot)}
            WHERE received_on IS NOT NULL AND received_on <= %s AND (expires_on IS NULL OR expires_on >= %s)
            GROUP BY item_id),
        wanted AS (
            SELECT o.customer_id AS customer_id, l.item_id AS item_id, l.quantity - COALESCE(h.q, 0) AS q
            FROM {table(OrderLine)} l JOIN {table(Order)} o ON o.id = l.order_id LEFT JOIN held h ON h.line_id = l.id
            WHERE o.customer_id IN ({ids}) AND o.status IN ({statuses}))
        SELECT w.customer_id, SUM(w.q),
               SUM(CASE WHEN w.q < COALESCE(s.q, 0) THEN w.q ELSE COALESCE(s.q, 0) END)
        FROM wanted w LEFT JOIN stock s ON s.item_id = w.item_id
        WHERE w.q > 0 GROUP BY w.customer_id"""
    day = today if is_postgres() else today.isoformat()
    params = [*customer_ids, *ALLOCATABLE_STATUSES, day, day, *customer_ids, *ALLOCATABLE_STATUSES]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {customer: float(covered) / float(wanted) for customer, wanted, covered in cursor.fetchall() if wanted}
