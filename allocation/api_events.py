"""API views of the event outbox and of the webhook endpoints that carry it out.

- `events/`: the events, newest first, read only (model permission `view_event`). A page stops
  before the data it carries passes API_MAX_NESTED_ROWS rows of EVENT_ROW_CHARS characters, so a
  page of runs' events with thousands of picks each stays a few MB.
- `webhooks/`: the endpoints, written through `allocation.webhooks` (permissions
  `*_webhookendpoint`); the signing secret is answered only by create and `rotate/`.
- `webhooks/{id}/deliveries/`: the endpoint's deliveries with their last attempts; `redeliver/`
  queues some, or every failed one, again.
"""
from __future__ import annotations

import django_filters as filters
from django.db.models import Prefetch
from django.db.models.functions import Length
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from allocation.event_data import PICK_CHARS, fill_data, run_event_picks
from allocation.models import Delivery, DeliveryAttempt, DeliveryStatus, Event, EventType, WebhookEndpoint
from allocation.serializers import NoParametersSerializer
from allocation.serializers_events import (
    ATTEMPTS_SHOWN,
    DeliverySerializer,
    EventSerializer,
    RedeliverSerializer,
    RequeuedSerializer,
    WebhookEndpointSecretSerializer,
    WebhookEndpointSerializer,
)
from allocation.webhooks import WEBHOOK_WRITES, deliveries_redeliver, deliveries_redeliver_failed, webhook_rotate
from inventory_alloc import strict
from inventory_alloc.pagination import PageNumberPagination, WeightedPagination
from inventory_alloc.viewsets import GenericViewSet, ReadOnlyViewSet, ServiceModelViewSet

# An event's weight in a page: one row per this many characters of its data (about one pick of an
# allocation.allocated event), so a page carries at most API_MAX_NESTED_ROWS × this many characters.
EVENT_ROW_CHARS = 150
EVENT_ID = r"(?:evt_)?[0-9]{1,18}"


# --- filters ------------------------------------------------------------------------------------

class EventFilter(filters.FilterSet):
    type = filters.ChoiceFilter(choices=EventType.choices)
    order = filters.NumberFilter(field_name="order_id", label="Order id")
    run = filters.NumberFilter(field_name="run_id", label="Run id")
    occurred = strict.DateFromToRangeFilter(field_name="occurred_at", label="Occurred on (inclusive days)")

    class Meta:
        model = Event
        fields = ["type", "order", "run", "occurred"]


class WebhookEndpointFilter(filters.FilterSet):
    active = strict.BooleanFilter()

    class Meta:
        model = WebhookEndpoint
        fields = ["active"]


class DeliveryFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=DeliveryStatus.choices)

    class Meta:
        model = Delivery
        fields = ["status"]


# --- permissions --------------------------------------------------------------------------------

class WebhookPermission(permissions.BasePermission):
    """Allow users holding `allocation.<verb>_webhookendpoint` (a delivery is part of its endpoint)."""

    verb: str

    @property
    def message(self) -> str:
        return f"You need the permission to {self.verb} webhook endpoints (allocation.{self.verb}_webhookendpoint)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(f"allocation.{self.verb}_webhookendpoint"))


class CanViewWebhooks(WebhookPermission):
    verb = "view"


class CanChangeWebhooks(WebhookPermission):
    verb = "change"


# --- events -------------------------------------------------------------------------------------

@extend_schema_view(retrieve=extend_schema(parameters=[OpenApiParameter(
    "id", str, OpenApiParameter.PATH, pattern=f"^{EVENT_ID}$",
    description="The event's id: `evt_<n>` as the event shows it, or just `<n>`.")]))
class EventViewSet(ReadOnlyViewSet):
    """Events, newest first: what the webhooks send (`type`, `order`, `run`, `occurred_after/_before`)."""

    queryset = Event.objects.order_by("-id")
    serializer_class = EventSerializer
    filterset_class = EventFilter
    pagination_class = WeightedPagination
    lookup_value_regex = EVENT_ID

    def get_object(self):
        self.kwargs["pk"] = str(self.kwargs["pk"]).removeprefix("evt_")
        event = super().get_object()
        fill_data([event])
        return event

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        fill_data(page or [])
        return page

    def page_weights(self, ids: list[int]) -> dict[int, int]:
        """Return each event's weight: one row per EVENT_ROW_CHARS characters of its data (a run's event: of its
        picks, which its data is made of)."""
        rows = Event.objects.filter(id__in=ids).annotate(size=Length("data")).values_list(
            "id", "size", "type", "run_id", "order_id")
        sizes, made = {}, {}
        for pk, size, kind, run, order in rows:
            sizes[pk] = size or 0
            if kind == EventType.ALLOCATED and not size and run is not None:
                made[pk] = (run, order)
        picks = run_event_picks(made)
        return {pk: 1 + (size + picks.get(pk, 0) * PICK_CHARS) // EVENT_ROW_CHARS for pk, size in sizes.items()}


# --- webhook endpoints --------------------------------------------------------------------------

class WebhookViewSet(ServiceModelViewSet):
    """Webhook endpoints: where events are POSTed, signed with the endpoint's secret (Standard Webhooks).

    The secret is in the answer to POST (create) and to `rotate/` only: store it then.
    """

    queryset = WebhookEndpoint.objects.select_related("created_by").order_by("id")
    serializer_class = WebhookEndpointSerializer
    filterset_class = WebhookEndpointFilter
    search_fields = ["url", "description"]
    writes = WEBHOOK_WRITES
    lookup_value_regex = "[0-9]+"  # "2 " is no id (Django would read it as 2)

    def get_permissions(self):
        return [CanChangeWebhooks()] if self.action in ("rotate", "redeliver") else super().get_permissions()

    @extend_schema(responses={201: WebhookEndpointSecretSerializer})
    def create(self, request, *args, **kwargs) -> Response:
        """Create an endpoint; the answer holds its signing secret, shown only now."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(WebhookEndpointSecretSerializer(serializer.instance).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: WebhookEndpointSecretSerializer})
    @action(detail=True, methods=["post"], filterset_class=None, search_fields=[])
    def rotate(self, request, pk=None) -> Response:
        """Give the endpoint a new signing secret, shown only in this answer.

        The old secret keeps signing, as a second signature, for WEBHOOK_ROTATION_OVERLAP seconds.
        """
        NoParametersSerializer(data=request.data or {}).is_valid(raise_exception=True)
        endpoint = webhook_rotate(endpoint=self.get_object(), user=request.user)
        return Response(WebhookEndpointSecretSerializer(self.reread(endpoint)).data)

    @extend_schema(request=RedeliverSerializer, responses={
        200: OpenApiResponse(RequeuedSerializer, description="Nothing to send again (no failed delivery)."),
        202: OpenApiResponse(RequeuedSerializer, description="Queued: the dispatcher sends them from the first attempt."),
        400: OpenApiResponse(OpenApiTypes.OBJECT, description="Neither or both of `deliveries` and `failed`, or a "
                                                              "delivery that is not the endpoint's."),
        409: OpenApiResponse(OpenApiTypes.OBJECT, description="A delivery named is still pending (`deliveries`)."),
    })
    @action(detail=True, methods=["post"], filterset_class=None, search_fields=[])
    def redeliver(self, request, pk=None) -> Response:
        """Send deliveries of the endpoint again: `{"deliveries": [ids]}` or `{"failed": true}` (every failed one)."""
        endpoint = self.get_object()
        params = RedeliverSerializer(data=request.data, context={"endpoint": endpoint})
        params.is_valid(raise_exception=True)
        if params.validated_data.get("failed"):
            count = deliveries_redeliver_failed(endpoint=endpoint, user=request.user)
        else:
            count = deliveries_redeliver(deliveries=params.validated_data["deliveries"], user=request.user)
        return Response({"requeued": count}, status=status.HTTP_202_ACCEPTED if count else status.HTTP_200_OK)


def deliveries_of(endpoint_id: int):
    """Return an endpoint's deliveries, newest first, each with its event's type and its last attempts."""
    recent = DeliveryAttempt.objects.order_by("-id")[:ATTEMPTS_SHOWN]
    return (Delivery.objects.filter(endpoint_id=endpoint_id).select_related("event").defer("event__data")
            .prefetch_related(Prefetch("attempt_rows", queryset=recent, to_attr="recent_attempts")).order_by("-id"))


@extend_schema(parameters=[OpenApiParameter("webhook_pk", int, OpenApiParameter.PATH, description="The endpoint's id.")])
class DeliveryViewSet(mixins.ListModelMixin, GenericViewSet):
    """An endpoint's deliveries, newest first (`webhooks/{id}/deliveries/`, `status`), each with its last attempts."""

    queryset = Delivery.objects.none()  # the endpoint's, below
    permission_classes = [CanViewWebhooks]
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    pagination_class = PageNumberPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema is being drawn: no endpoint
            return self.queryset
        endpoint = get_object_or_404(WebhookEndpoint.objects.only("id"), pk=self.kwargs["webhook_pk"])
        return deliveries_of(endpoint.pk)
