"""What allocation adds to the API's customers and orders, which belong to the app below it.

The router serves these subclasses of `orders.views`: a customer's score (`customers/{id}/metrics/`),
an order's allocation results, release, cancel, ship and pick list (`orders/{id}/allocations/`,
`release/`, `cancel/`, `ship/`, `pick-list/`), each order line's allocated and shipped quantities, and
the order's most recent shipments.
"""
from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from allocation.explanations import explain_results
from allocation.models import AllocationResult, Shipment
from allocation.permissions import CanRunAllocation, CanShipOrders
from allocation.picklists import pick_list
from allocation.releases import allocation_release, order_cancel
from allocation.scores import customer_metrics
from allocation.serializers import (
    ORDER_SHIPMENTS_SHOWN,
    AllocationResultSerializer,
    CustomerMetricsSerializer,
    NoParametersSerializer,
    OrderSerializer,
    ReleaseReportSerializer,
    ReleaseRequestSerializer,
    ShippedOrderSerializer,
    ShipRequestSerializer,
)
from allocation.shipping import order_ship
from allocation.views import PICK_LIST_SCHEMA, CSVErrorsAsJSON, pick_list_action, pick_list_response
from inventory_alloc.pagination import PageNumberPagination
from orders import views
from orders.models import Order, OrderLine


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
        shipped_quantity=Coalesce(Sum("allocation_results__shipped_quantity", filter=active), Value(0),
                                  output_field=IntegerField()),
    ).order_by("id")


def shipments_count():
    return Coalesce(Subquery(Shipment.objects.filter(order=OuterRef("pk")).order_by().values("order")
                             .annotate(n=Count("id")).values("n")), Value(0), output_field=IntegerField())


class OrderViewSet(CSVErrorsAsJSON, views.OrderViewSet):
    queryset = views.OrderViewSet.queryset.prefetch_related(None).prefetch_related(
        Prefetch("lines", queryset=lines_with_allocated()),
        Prefetch("shipments", to_attr="recent_shipments", queryset=Shipment.objects.select_related("shipped_by")
                 .order_by("-shipped_at", "-id")[:ORDER_SHIPMENTS_SHOWN]),
    ).annotate(shipments_count=shipments_count())
    serializer_class = OrderSerializer

    def get_permissions(self):
        if self.action in ("release", "cancel"):
            return [CanRunAllocation()]
        if self.action == "ship":
            return [CanShipOrders()]
        return super().get_permissions()

    def get_queryset(self):
        if self.action in ("ship", "pick_list"):  # the order's id is all these need to start with
            return Order.objects.only("id", "order_number")
        return super().get_queryset()

    @extend_schema(responses=AllocationResultSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, search_fields=[], pagination_class=PageNumberPagination)
    def allocations(self, request, pk=None) -> Response:
        """List the order's allocation results (released ones included, with released_at)."""
        order = self.get_object()
        results = AllocationResult.objects.filter(order=order).select_related("order", "item", "lot").order_by("id")
        page = explain_results(self.paginate_queryset(results))
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

    @extend_schema(request=ShipRequestSerializer, responses={
        200: ShippedOrderSerializer,
        409: OpenApiResponse(inline_serializer("ShipConflict", {
            "detail": serializers.CharField(), "code": serializers.CharField(),
            "lines": serializers.ListField(child=serializers.DictField(), required=False)}), description=(
            "Nothing to ship, more asked than a line holds allocated and not shipped (`lines` says which, with "
            "`unshipped` and `asked`), a cancelled order, or a reference the order already shipped under.")),
    })
    @action(detail=True, methods=["post"], filterset_class=None, search_fields=[])
    def ship(self, request, pk=None) -> Response:
        """Ship the order's allocated units: every line's, or the lines and quantities given.

        Each line ships from its picks in id order; the answer is the order as GET shows it, with the shipment.
        """
        order = self.get_object()
        params = ShipRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        report = order_ship(order=order.pk, lines=params.validated_data.get("lines"),
                            reference=params.validated_data.get("reference", ""), user=request.user)
        shown = self.queryset.get(pk=order.pk)
        return Response(ShippedOrderSerializer(shown, context={**self.get_serializer_context(), "report": report}).data)

    @extend_schema(**PICK_LIST_SCHEMA)
    @pick_list_action(search_fields=[])
    def pick_list(self, request, pk=None) -> Response:
        """List what to pick for the order: per lot and line, the units allocated and not shipped, by lot reference."""
        order = self.get_object()
        return pick_list_response(self, pick_list(order=order.pk), f"pick-list-{order.order_number}")
