"""API views of customers, payments and orders; release and cancel call the allocation services."""
from __future__ import annotations

from django.db.models import Count, IntegerField, Prefetch, Q, Sum, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from allocation.models import AllocationResult
from allocation.permissions import CanRunAllocation
from allocation.serializers import (
    AllocationResultSerializer,
    NoParametersSerializer,
    ReleaseReportSerializer,
    ReleaseRequestSerializer,
)
from allocation.services import allocation_release, order_cancel
from inventory_alloc.pagination import PageNumberPagination, WeightedPagination
from inventory_alloc.viewsets import ServiceModelViewSet
from orders.filters import CustomerFilter, OrderFilter, PaymentFilter
from orders.models import Customer, Order, OrderLine, Payment
from orders.selectors import customer_metrics
from orders.serializers import CustomerMetricsSerializer, CustomerSerializer, OrderSerializer, PaymentSerializer
from orders.services import CUSTOMER_WRITES, ORDER_WRITES, PAYMENT_WRITES


class CustomerViewSet(ServiceModelViewSet):
    queryset = Customer.objects.order_by("code")
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    search_fields = ["code", "name", "email"]
    writes = CUSTOMER_WRITES

    @extend_schema(responses=CustomerMetricsSerializer)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def metrics(self, request, pk=None) -> Response:
        """Return the customer's score (0-100) and its four parts (each 0-1)."""
        customer = self.get_object()
        metrics = customer_metrics([customer.pk])[customer.pk]
        return Response(CustomerMetricsSerializer({"customer": customer.pk, **metrics.as_dict()}).data)


class PaymentViewSet(ServiceModelViewSet):
    queryset = Payment.objects.order_by("-due_date", "-id")
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter
    writes = PAYMENT_WRITES


def _lines_with_allocated():
    active = Q(allocation_results__released_at__isnull=True)
    return OrderLine.objects.select_related("item", "lot").annotate(
        allocated_quantity=Coalesce(Sum("allocation_results__allocated_quantity", filter=active), Value(0),
                                    output_field=IntegerField()),
    ).order_by("id")


class OrderViewSet(ServiceModelViewSet):
    """Orders with their lines. Status is kept by the allocation services (read only)."""

    queryset = Order.objects.select_related("customer").prefetch_related(
        Prefetch("lines", queryset=_lines_with_allocated())
    ).order_by("-order_date", "-id")
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    search_fields = ["order_number", "customer__code", "customer__name"]
    writes = ORDER_WRITES
    pagination_class = WeightedPagination  # a page stops before its lines pass API_MAX_NESTED_ROWS

    def page_weights(self, ids: list[int]) -> dict[int, int]:
        """Return how many lines each order carries."""
        return dict(OrderLine.objects.filter(order_id__in=ids).values_list("order_id").annotate(n=Count("id")).order_by())

    def get_permissions(self):
        if self.action in ("release", "cancel"):
            return [CanRunAllocation()]
        return super().get_permissions()

    @extend_schema(responses=AllocationResultSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, search_fields=[], pagination_class=PageNumberPagination)
    def allocations(self, request, pk=None) -> Response:
        """List the order's allocation results (released ones included, with released_at)."""
        order = self.get_object()
        results = AllocationResult.objects.filter(order=order).select_related("order", "item", "lot").order_by("id")
        page = self.paginate_queryset(results)
        serializer = AllocationResultSerializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=ReleaseRequestSerializer, responses=ReleaseReportSerializer)
    @action(detail=True, methods=["post"], filterset_class=None, search_fields=[])
    def release(self, request, pk=None) -> Response:
        """Release the order's active allocations (optionally only those on one lot, by reference)."""
        order = self.get_object()
        params = ReleaseRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        report = allocation_release(order=order.pk, lot=params.validated_data.get("lot") or None, user=request.user)
        return Response(ReleaseReportSerializer(report).data)

    @extend_schema(request=None, responses={
        200: ReleaseReportSerializer,
        409: OpenApiResponse(inline_serializer("CancelConflict", {"detail": serializers.CharField()})),
    })
    @action(detail=True, methods=["post"], filterset_class=None, search_fields=[])
    def cancel(self, request, pk=None) -> Response:
        """Cancel the order: release everything allocated to it, then mark it cancelled."""
        order = self.get_object()
        NoParametersSerializer(data=request.data or {}).is_valid(raise_exception=True)
        report = order_cancel(order=order.pk, user=request.user)
        return Response(ReleaseReportSerializer(report).data, status=status.HTTP_200_OK)
