"""What allocation adds to the API's customers and orders, which belong to the app below it.

The router serves these subclasses of `orders.views`: a customer's score (`customers/{id}/metrics/`),
an order's allocation results, release and cancel (`orders/{id}/allocations/`, `release/`, `cancel/`),
and each order line's allocated quantity.
"""
from __future__ import annotations

from django.db.models import IntegerField, Prefetch, Q, Sum, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from allocation.models import AllocationResult
from allocation.permissions import CanRunAllocation
from allocation.releases import allocation_release, order_cancel
from allocation.scores import customer_metrics
from allocation.serializers import (
    AllocationResultSerializer,
    CustomerMetricsSerializer,
    NoParametersSerializer,
    ReleaseReportSerializer,
    ReleaseRequestSerializer,
)
from inventory_alloc.pagination import PageNumberPagination
from orders import views
from orders.models import OrderLine


class CustomerViewSet(views.CustomerViewSet):
    @extend_schema(responses=CustomerMetricsSerializer)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def metrics(self, request, pk=None) -> Response:
        """Return the customer's score (0-100) and its four parts (each 0-1)."""
        customer = self.get_object()
        metrics = customer_metrics([customer.pk])[customer.pk]
        return Response(CustomerMetricsSerializer({"customer": customer.pk, **metrics.as_dict()}).data)


def lines_with_allocated():
    active = Q(allocation_results__released_at__isnull=True)
    return OrderLine.objects.select_related("item", "lot").annotate(
        allocated_quantity=Coalesce(Sum("allocation_results__allocated_quantity", filter=active), Value(0),
                                    output_field=IntegerField()),
    ).order_by("id")


class OrderViewSet(views.OrderViewSet):
    queryset = views.OrderViewSet.queryset.prefetch_related(None).prefetch_related(
        Prefetch("lines", queryset=lines_with_allocated()))

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
