"""API views of allocation: run (allocate/), results, runs and period close.

`allocate_response` is the one function the allocate view calls: it runs the
allocation and shapes the answer. An asynchronous variant (queue big runs)
replaces or wraps that call only.
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from allocation.filters import AllocationResultFilter, AllocationRunFilter
from allocation.models import AllocationResult, AllocationRun
from allocation.permissions import CanRunAllocation
from allocation.serializers import (
    AllocateRequestSerializer,
    AllocateResponseSerializer,
    AllocationResultSerializer,
    AllocationRunSerializer,
    PeriodCloseReportSerializer,
    PeriodCloseRequestSerializer,
    dry_run_results,
)
from allocation.services import allocation_run, period_close
from allocation.tasks import allocation_run_is_big, allocation_run_start
from inventory_alloc.strict import StrictQueryParamsMixin
from inventory_alloc.viewsets import ReadOnlyViewSet

_ERROR = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})
_SHORTFALL = inline_serializer("InsufficientStockError", {
    "detail": serializers.CharField(),
    "code": serializers.CharField(),
    "shortfalls": serializers.ListField(child=serializers.DictField()),
})


def allocate_response(params: dict, user) -> tuple[dict, int]:
    """Run an allocation with validated request `params`; return (body, HTTP status).

    201 with the run, outcomes and written results; 200 for a dry run (results
    built from the picks, with id and run empty).
    """
    if not params.get("dry_run") and allocation_run_is_big(params.get("orders")):
        # --- AWS Lambda: a big run goes to an asynchronous task; the client follows /allocation-runs/{id}/.
        run = allocation_run_start(user=user, **params)
        return {"run": AllocationRunSerializer(run).data, "outcomes": run.outcomes, "results": []}, status.HTTP_202_ACCEPTED
    report = allocation_run(user=user, **params)
    if report.run.pk is None:
        results, code = dry_run_results(report.run, report.picks), status.HTTP_200_OK
    else:
        results = report.run.results.select_related("order", "item", "lot").order_by("id")
        code = status.HTTP_201_CREATED
    body = {
        "run": AllocationRunSerializer(report.run).data,
        "outcomes": report.outcomes,
        "results": AllocationResultSerializer(results, many=True).data,
    }
    return body, code


class AllocateView(StrictQueryParamsMixin, APIView):
    """Allocate orders (default: every open order) with a method; see ALLOCATION.md for the rules."""

    permission_classes = [CanRunAllocation]

    @extend_schema(
        request=AllocateRequestSerializer,
        responses={
            200: OpenApiResponse(AllocateResponseSerializer, description="Dry run: nothing written."),
            201: AllocateResponseSerializer,
            202: OpenApiResponse(AllocateResponseSerializer, description=(
                "A big run (over ALLOCATION_ASYNC_THRESHOLD orders) was queued: follow /allocation-runs/{id}/.")),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A parameter is wrong: {field: [reason]}."),
            404: OpenApiResponse(_ERROR, description="An order named does not exist."),
            409: OpenApiResponse(_SHORTFALL, description="One order, allow_partial false, not enough stock."),
        },
    )
    def post(self, request) -> Response:
        params = AllocateRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        body, code = allocate_response(params.validated_data, request.user)
        return Response(body, status=code)


class AllocationResultViewSet(ReadOnlyViewSet):
    """Allocation results (one per pick). Never deleted: releasing stamps released_at."""

    queryset = AllocationResult.objects.select_related("order", "item", "lot").order_by("id")
    serializer_class = AllocationResultSerializer
    filterset_class = AllocationResultFilter


class AllocationRunViewSet(ReadOnlyViewSet):
    """Allocation runs with their parameters, counts and per-order outcomes."""

    queryset = AllocationRun.objects.select_related("started_by").order_by("-started_at", "-id")
    serializer_class = AllocationRunSerializer
    filterset_class = AllocationRunFilter


class PeriodCloseView(StrictQueryParamsMixin, APIView):
    """Close a total-average period: re-cost its TOTAL_AVERAGE picks with the final average."""

    permission_classes = [CanRunAllocation]
    extra_query_params = ("dry_run",)

    @extend_schema(
        request=PeriodCloseRequestSerializer,
        parameters=[OpenApiParameter("dry_run", bool, description="Preview only: write nothing.")],
        responses={
            200: OpenApiResponse(PeriodCloseReportSerializer, description="Dry run: nothing written."),
            201: PeriodCloseReportSerializer,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Not a period, or it has not ended."),
            409: OpenApiResponse(_ERROR, description="The period is already closed."),
        },
    )
    def post(self, request, period: str) -> Response:
        dry_run = False
        for data in (request.query_params, request.data):  # a body that is not an object is a 400, never ignored
            params = PeriodCloseRequestSerializer(data=data)
            params.is_valid(raise_exception=True)
            dry_run = dry_run or params.validated_data["dry_run"]
        report = period_close(period=period, user=request.user, dry_run=dry_run)
        body = PeriodCloseReportSerializer({
            "period": report.period, "start": report.start, "end": report.end, "dry_run": dry_run,
            "averages": report.averages, "recosted": report.recosted,
        }).data
        return Response(body, status=status.HTTP_200_OK if dry_run else status.HTTP_201_CREATED)
