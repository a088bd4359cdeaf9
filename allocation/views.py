"""API views of allocation: run (allocate/), results, runs, pick lists and period close.

`allocate_response` is the one function the allocate view calls: it runs the
allocation and shapes the answer. An asynchronous variant (queue big runs)
replaces or wraps that call only. A pick list (`allocation-runs/{id}/pick-list/`,
`orders/{id}/pick-list/`) is paged JSON, or with `?format=csv` the same page as CSV.
"""
from __future__ import annotations

import csv
import io
import re

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from allocation.comparison import BASELINE, methods_compare
from allocation.explanations import dry_run_results, explain_results
from allocation.filters import AllocationResultFilter, AllocationRunFilter, RunOutcomeFilter
from allocation.models import AllocationResult, AllocationRun, RunOutcome, RunStatus
from allocation.parameters import RunRequest
from allocation.periods import period_close
from allocation.permissions import CanRunAllocation, CanViewRuns
from allocation.picklists import named, pick_list
from allocation.requests import allocation_request, allocation_run_retry, allocation_runs_expire
from allocation.serializers import (
    AllocateRequestSerializer,
    AllocateResponseSerializer,
    AllocationResultSerializer,
    AllocationRunSerializer,
    CompareRequestSerializer,
    CompareResponseSerializer,
    NoParametersSerializer,
    PeriodCloseReportSerializer,
    PeriodCloseRequestSerializer,
    PickListRowSerializer,
    RunOutcomeSerializer,
)
from inventory_alloc.admin_base import neutralised
from inventory_alloc.pagination import PageNumberPagination, WeightedPagination
from inventory_alloc.strict import StrictQueryParamsMixin, query_flag
from inventory_alloc.viewsets import GenericViewSet, ReadOnlyViewSet

_ERROR = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})
_SHORTFALL = inline_serializer("InsufficientStockError", {
    "detail": serializers.CharField(),
    "code": serializers.CharField(),
    "shortfalls": serializers.ListField(child=serializers.DictField()),
})


def allocate_response(params: dict, user) -> tuple[dict, int]:
    """Run an allocation with validated request `params`; return (body, HTTP status).

    201 with the run, and its first outcomes and written results; 200 for a dry run (results
    built from the picks, with id and run empty). However big the run, the answer lists at most
    API_INLINE_ROWS of each (and outcomes carrying fewer shortfalls than API_MAX_NESTED_ROWS): the
    counts say how many there are, the rest are at allocation-runs/{id}/outcomes/ and
    allocation-results/?run={id}.
    """
    ticket = allocation_request(RunRequest.of(**params), user=user)
    if ticket.queued:  # a big run (on Lambda, an asynchronous task): the client follows /allocation-runs/{id}/
        body = {"run": AllocationRunSerializer(ticket.run).data, "outcomes": [], "outcomes_count": 0, "results": [],
                "results_count": 0}
        return body, status.HTTP_202_ACCEPTED
    report, shown = ticket.report, settings.API_INLINE_ROWS
    if report.run.pk is None:
        results, code = dry_run_results(report.run, report.picks[:shown], report.outcome_rows), status.HTTP_200_OK
    else:
        results = explain_results(list(report.run.results.select_related("order", "item", "lot").order_by("id")[:shown]))
        code = status.HTTP_201_CREATED
    body = {
        "run": AllocationRunSerializer(report.run).data,
        "outcomes": RunOutcomeSerializer(report.outcome_objects(shown, settings.API_MAX_NESTED_ROWS), many=True).data,
        "outcomes_count": len(report.outcome_rows),
        "results": AllocationResultSerializer(results, many=True).data,
        "results_count": len(report.picks),
    }
    return body, code


# --- pick lists: paged JSON, or the same page as CSV ----------------------------------------------

class PickListCSVRenderer(renderers.BaseRenderer):
    """A page of a pick list as CSV: a header row, then one row per (lot, order line); text that a spreadsheet
    would take for a formula is neutralised. The page's links are in the answer's headers (`pick_list_response`)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"
    columns = tuple(PickListRowSerializer().fields)

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(self.columns)
        for row in (data or {}).get("results", []):
            writer.writerow(["" if row[name] is None else neutralised(row[name]) for name in self.columns])
        return text.getvalue().encode(self.charset)


class CSVErrorsAsJSON:
    # An error is JSON whatever format was asked for (a CSV of {"detail": ...} would say nothing).
    # No docstring: the OpenAPI schema would show it as the description of every view.

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400 and isinstance(getattr(request, "accepted_renderer", None), PickListCSVRenderer):
            request.accepted_renderer, request.accepted_media_type = renderers.JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


def pick_list_action(**attributes):
    """Return the `pick-list/` action of a viewset (JSON or CSV, paged; `attributes` as DRF's `action` takes)."""
    return action(detail=True, methods=["get"], url_path="pick-list", filterset_class=None,
                  pagination_class=PageNumberPagination, renderer_classes=[renderers.JSONRenderer, PickListCSVRenderer],
                  **attributes)

_PAGE_HEADERS = {
    "X-Total-Count": "How many rows the whole pick list has.",
    "Link": 'The next and previous pages (`<url>; rel="next"`, `<url>; rel="prev"`), in the same format.',
}
PICK_LIST_SCHEMA = {
    "parameters": [
        OpenApiParameter("format", str, enum=["json", "csv"], description=(
            "`csv`: the same page as CSV (text/csv), one header row then one row per pick; follow the `Link` header "
            "for the next page (`page_size` up to 1000).")),
        *(OpenApiParameter(name, str, OpenApiParameter.HEADER, description=text, response=[200])
          for name, text in _PAGE_HEADERS.items()),
    ],
    "responses": PickListRowSerializer(many=True),
}


def pick_list_response(view, rows, name: str) -> Response:
    """Answer one page of pick-list `rows`: JSON, or CSV (`?format=csv`) with the page's links in headers."""
    page = named(view.paginate_queryset(rows))
    response = view.get_paginated_response(PickListRowSerializer(page, many=True).data)
    paginator = view.paginator
    response["X-Total-Count"] = str(paginator.page.paginator.count)
    links = [f'<{url}>; rel="{rel}"' for rel, url in (("next", paginator.get_next_link()),
                                                      ("prev", paginator.get_previous_link())) if url]
    if links:
        response["Link"] = ", ".join(links)
    if isinstance(view.request.accepted_renderer, PickListCSVRenderer):
        filename = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        response["Content-Disposition"] = f'attachment; filename="{filename}-page-{paginator.page.number}.csv"'
    return response


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


class CompareView(StrictQueryParamsMixin, APIView):
    """What-if: a dry run per method over the same orders and stock, side by side; nothing is written."""

    permission_classes = [CanRunAllocation]

    @extend_schema(
        request=CompareRequestSerializer,
        responses={
            200: CompareResponseSerializer,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A parameter is wrong: {field: [reason]}."),
            404: OpenApiResponse(_ERROR, description="An order named does not exist."),
        },
    )
    def post(self, request) -> Response:
        params = CompareRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        values = dict(params.validated_data)
        methods, offset, limit = values.pop("methods", None), values.pop("offset"), values.pop("limit")
        comparison = methods_compare(RunRequest.of(method=BASELINE, **values), methods, user=request.user)
        body = {
            "parameters": {key: value for key, value in comparison.request.payload().items() if key not in ("method", "dry_run")},
            "baseline": BASELINE, "methods": comparison.method_rows(), "orders_count": len(comparison.numbers),
            "offset": offset, "limit": limit, "orders": comparison.order_rows(offset, limit),
        }
        return Response(CompareResponseSerializer(body).data)


class AllocationResultViewSet(ReadOnlyViewSet):
    """Allocation results (one per pick). Never deleted: releasing stamps released_at."""

    queryset = AllocationResult.objects.select_related("order", "item", "lot").order_by("id")
    serializer_class = AllocationResultSerializer
    filterset_class = AllocationResultFilter

    def paginate_queryset(self, queryset):
        return explain_results(super().paginate_queryset(queryset))

    def get_object(self) -> AllocationResult:
        return explain_results([super().get_object()])[0]


class AllocationRunViewSet(CSVErrorsAsJSON, ReadOnlyViewSet):
    """Allocation runs with their parameters and counts; each run's outcome per order at outcomes/."""

    queryset = AllocationRun.objects.select_related("started_by").defer("requested_orders").order_by("-started_at", "-id")
    serializer_class = AllocationRunSerializer
    filterset_class = AllocationRunFilter

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        allocation_runs_expire()  # a run whose process died shows as failed, not running forever

    def get_permissions(self):
        return [CanRunAllocation()] if self.action == "retry" else super().get_permissions()

    @extend_schema(request=None, responses={
        201: OpenApiResponse(inline_serializer("RetriedRun", {"run": AllocationRunSerializer()}),
                             description="The new run is done."),
        202: OpenApiResponse(inline_serializer("QueuedRetry", {"run": AllocationRunSerializer()}),
                             description="The new run is big and was queued: follow it."),
        409: OpenApiResponse(_ERROR, description="The run has not failed."),
    })
    @action(detail=True, methods=["post"], filterset_class=None)
    def retry(self, request, pk=None) -> Response:
        """Start a new run with the parameters of this failed one; answer the new run."""
        NoParametersSerializer(data=request.data or {}).is_valid(raise_exception=True)
        run = allocation_run_retry(run=self.get_object(), user=request.user).run
        code = status.HTTP_201_CREATED if run.status == RunStatus.DONE else status.HTTP_202_ACCEPTED
        return Response({"run": AllocationRunSerializer(run).data}, status=code)

    @extend_schema(**PICK_LIST_SCHEMA)
    @pick_list_action()
    def pick_list(self, request, pk=None) -> Response:
        """List what to pick for the run: per lot and order line, the units allocated and not shipped, by lot
        reference then order number (released and shipped picks left out)."""
        run = self.get_object()
        return pick_list_response(self, pick_list(run=run.pk), f"pick-list-run-{run.pk}")


@extend_schema(parameters=[OpenApiParameter("run_pk", int, OpenApiParameter.PATH, description="The run's id.")])
class RunOutcomeViewSet(mixins.ListModelMixin, GenericViewSet):
    """A run's outcome per order, in serving order (`allocation-runs/{id}/outcomes/`); `status`, or `short=true`
    for the orders that fell short. A page stops before its shortfalls pass API_MAX_NESTED_ROWS."""

    queryset = RunOutcome.objects.none()  # the run's, below
    permission_classes = [CanViewRuns]
    serializer_class = RunOutcomeSerializer
    filterset_class = RunOutcomeFilter
    pagination_class = WeightedPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema is being drawn: no run
            return self.queryset
        run = get_object_or_404(AllocationRun.objects.only("id"), pk=self.kwargs["run_pk"])
        return RunOutcome.objects.filter(run=run).order_by("id")

    def page_weights(self, ids: list[int]) -> dict[int, int]:
        """Return how many shortfalls each outcome carries."""
        return dict(RunOutcome.objects.filter(id__in=ids).values_list("id", "short_lines"))


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
        params = PeriodCloseRequestSerializer(data=request.data)  # a body that is not an object is a 400
        params.is_valid(raise_exception=True)
        dry_run = params.validated_data["dry_run"] or query_flag(request, "dry_run")
        report = period_close(period=period, user=request.user, dry_run=dry_run)
        body = PeriodCloseReportSerializer({
            "period": report.period, "start": report.start, "end": report.end, "dry_run": dry_run,
            "averages": report.averages, "recosted": report.recosted,
        }).data
        return Response(body, status=status.HTTP_200_OK if dry_run else status.HTTP_201_CREATED)
