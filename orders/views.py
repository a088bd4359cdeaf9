"""API views of customers, payments and orders: every write goes through the orders services.

The allocation app extends the customers and orders collections (`allocation.api_orders`): a
customer's score, an order's allocations, release and cancel, each line's allocated quantity.
"""
from __future__ import annotations

from django.db.models import Count, Prefetch

from inventory_alloc.pagination import WeightedPagination
from inventory_alloc.viewsets import ServiceModelViewSet
from orders.filters import CustomerFilter, OrderFilter, PaymentFilter
from orders.models import Customer, Order, OrderLine, Payment
from orders.serializers import CustomerSerializer, OrderSerializer, PaymentSerializer
from orders.services import CUSTOMER_WRITES, ORDER_WRITES, PAYMENT_WRITES


class CustomerViewSet(ServiceModelViewSet):
    queryset = Customer.objects.order_by("code")
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    search_fields = ["code", "name", "email"]
    writes = CUSTOMER_WRITES


class PaymentViewSet(ServiceModelViewSet):
    queryset = Payment.objects.order_by("-due_date", "-id")
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter
    writes = PAYMENT_WRITES


class OrderViewSet(ServiceModelViewSet):
    """Orders with their lines. Status is kept by the allocation services (read only)."""

    queryset = Order.objects.select_related("customer").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("item", "lot").order_by("id"))
    ).order_by("-order_date", "-id")
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    search_fields = ["order_number", "customer__code", "customer__name"]
    writes = ORDER_WRITES
    pagination_class = WeightedPagination  # a page stops before its lines pass API_MAX_NESTED_ROWS

    def page_weights(self, ids: list[int]) -> dict[int, int]:
        """Return how many lines each order carries."""
        return dict(OrderLine.objects.filter(order_id__in=ids).values_list("order_id").annotate(n=Count("id")).order_by())
