"""API shapes of allocation: run requests, runs, results, releases and period closes."""
from __future__ import annotations

from dataclasses import MISSING, Field

from django.conf import settings
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from allocation.models import AllocationResult, AllocationRun, RunOutcome, Shipment
from allocation.parameters import CHOICES, PARAMETERS
from inventory_alloc.dates import SANE_DATE
from inventory_alloc.strict import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDateField,
    StrictIntegerField,
    StrictSerializer,
)
from orders import serializers as order_serializers
from orders.models import Order

ORDER_SHIPMENTS_SHOWN = 20  # the most recent shipments an order's answer lists (shipments_count says how many)


def _parameter_field(parameter: Field) -> serializers.Field:
    """Return the API field of a run parameter, from its declaration (`allocation.parameters.RunRequest`)."""
    kind, options = parameter.metadata["kind"], {"help_text": parameter.metadata["help"]}
    if parameter.default is None:
        options["required"] = False
    elif parameter.default is not MISSING:
        options["default"] = parameter.default
    if kind == "choice":
        return StrictChoiceField(choices=CHOICES[parameter.metadata["choices"]](), **options)
    if kind == "ids":
        return serializers.ListField(child=StrictIntegerField(min_value=1, max_value=2**62), allow_null=True, **options)
    if kind == "date":
        return StrictDateField(allow_null=True, validators=SANE_DATE, **options)
    return StrictBooleanField(**options)


AllocateRequestSerializer = type("AllocateRequestSerializer", (StrictSerializer,), {
    "__module__": __name__, **{parameter.name: _parameter_field(parameter) for parameter in PARAMETERS},
})

# What-if (allocate/compare/): the run's parameters but the method and dry_run, the methods to compare, and a page of
# the per-order rows.
CompareRequestSerializer = type("CompareRequestSerializer", (StrictSerializer,), {
    "__module__": __name__,
    **{parameter.name: _parameter_field(parameter) for parameter in PARAMETERS if parameter.name not in ("method", "dry_run")},
    "methods": serializers.ListField(
        child=StrictChoiceField(choices=CHOICES["methods"]()), required=False, allow_empty=True,
        help_text="The methods to compare; default: every method the policy applies to. FIFO, the baseline, is always in."),
    "offset": StrictIntegerField(min_value=0, max_value=2**31, default=0, help_text="The first order row to answer."),
    "limit": StrictIntegerField(min_value=1, max_value=settings.API_INLINE_ROWS, default=100,
                                help_text="How many order rows to answer (at most API_INLINE_ROWS)."),
})


class ComparedFiguresSerializer(serializers.Serializer):
    quantity = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    unit_cost = serializers.DecimalField(max_digits=20, decimal_places=4, allow_null=True,
                                         help_text="The amount over the quantity; null for none.")
    difference = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="This amount less FIFO's.")


class ComparedMethodSerializer(ComparedFiguresSerializer):
    method = serializers.CharField()
    provisional = serializers.BooleanField(help_text="Its costs are provisional until their period is closed.")


class ComparedOrderSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    order_number = serializers.CharField()
    methods = serializers.DictField(child=ComparedFiguresSerializer(), help_text="Per method.")


class CompareResponseSerializer(serializers.Serializer):
    parameters = serializers.DictField(help_text="The run parameters compared under (as_of filled in).")
    baseline = serializers.CharField()
    methods = ComparedMethodSerializer(many=True)
    orders_count = serializers.IntegerField(help_text="How many orders the runs considered.")
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    orders = ComparedOrderSerializer(many=True, help_text="The orders from offset, in id order, at most limit.")


class AllocationResultSerializer(serializers.ModelSerializer):
    # id, run and created_at are null in a dry run's results (nothing was written).
    id = serializers.IntegerField(read_only=True, allow_null=True)
    run = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True, allow_null=True)
    order_number = serializers.CharField(source="order.order_number", read_only=True)
    line = serializers.IntegerField(source="order_line_id", read_only=True)
    item_code = serializers.CharField(source="item.item_code", read_only=True)
    lot = serializers.CharField(source="lot.reference", read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)
    explanation = serializers.SerializerMethodField(help_text=(
        "Why this lot and this cost, in one line (e.g. \"FIFO: oldest lot in stock (L1, received 2026-01-05); the "
        "lot's cost 10.0000\"); set by `allocation.explanations.explain_results`."))

    class Meta:
        model = AllocationResult
        fields = [
            "id", "run", "order", "order_number", "line", "item_code", "lot", "allocated_quantity", "unit_cost",
            "allocated_price", "allocation_date", "method", "cost_final", "provisional_unit_cost",
            "provisional_price", "created_at", "released_at", "active", "explanation",
        ]
        read_only_fields = fields

    def get_explanation(self, result: AllocationResult) -> str | None:
        return getattr(result, "explanation", None)


class AllocationRunSerializer(serializers.ModelSerializer):
    """A run's parameters and summary; its outcome per order is at allocation-runs/{id}/outcomes/."""

    # id and started_at are null for a dry run (the run is not saved).
    id = serializers.IntegerField(read_only=True, allow_null=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    started_by = serializers.CharField(source="started_by.username", read_only=True, default=None, allow_null=True)
    requested_orders_count = serializers.IntegerField(
        source="requested_count", read_only=True, allow_null=True,
        help_text="How many orders the run was asked to allocate (null: every open order).",
    )

    class Meta:
        model = AllocationRun
        fields = [
            "id", "method", "policy", "as_of", "allow_partial", "allow_inbound", "dry_run", "requested_orders_count",
            "started_by", "started_at", "finished_at", "status", "error", "orders_considered",
            "orders_fully_allocated", "orders_partly_allocated", "orders_not_allocated", "allocated_quantity",
            "allocated_amount",
        ]
        read_only_fields = fields


class ShortfallSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    item_code = serializers.CharField()
    requested = serializers.IntegerField()
    allocated = serializers.IntegerField()
    short = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True)
    quota = serializers.IntegerField(required=False, help_text="Policy fair_share: the line's share of its scarce item.")
    supply = serializers.IntegerField(required=False, help_text="Policy fair_share: the item's units the run could pick.")
    demand = serializers.IntegerField(required=False, help_text="Policy fair_share: the units all the item's lines asked.")


class RunOutcomeSerializer(serializers.ModelSerializer):
    """What a run did for one order: its status, quantity, amount, and each short line with the reason."""

    order = serializers.IntegerField(source="order_id")
    shortfalls = ShortfallSerializer(many=True)

    class Meta:
        model = RunOutcome
        fields = ["order", "order_number", "status", "quantity", "amount", "reason", "shortfalls"]
        read_only_fields = fields


class AllocateResponseSerializer(serializers.Serializer):
    run = AllocationRunSerializer()
    outcomes = RunOutcomeSerializer(many=True, help_text=(
        "The first outcomes (up to API_INLINE_ROWS, and fewer shortfalls than API_MAX_NESTED_ROWS); all of them "
        "are at allocation-runs/{id}/outcomes/."))
    outcomes_count = serializers.IntegerField(help_text="How many orders the run considered.")
    results = AllocationResultSerializer(many=True, help_text=(
        "The first results (up to API_INLINE_ROWS); all of them are at allocation-results/?run={id}."))
    results_count = serializers.IntegerField(help_text="How many picks the run made.")


class CustomerMetricsSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    performance = serializers.FloatField()
    payment_frequency = serializers.FloatField()
    credit_adherence = serializers.FloatField()
    stock_availability = serializers.FloatField()
    score = serializers.FloatField()


class ReleaseRequestSerializer(StrictSerializer):
    lot = StrictCharField(required=False, allow_blank=True, max_length=64,
                                help_text="Release only the allocations on this lot (its reference).")


class NoParametersSerializer(StrictSerializer):
    """A request that takes no fields (an empty body or `{}`)."""


class ReleaseReportSerializer(serializers.Serializer):
    released = serializers.IntegerField(help_text="Results released.")
    quantity = serializers.IntegerField(help_text="Units returned to the lots.")
    result_ids = serializers.ListField(child=serializers.IntegerField())


class PeriodCloseRequestSerializer(StrictSerializer):
    dry_run = StrictBooleanField(default=False)


class RecostingSerializer(serializers.Serializer):
    result_id = serializers.IntegerField()
    order_number = serializers.CharField()
    item_code = serializers.CharField()
    lot = serializers.CharField()
    quantity = serializers.IntegerField()
    old_unit_cost = serializers.DecimalField(max_digits=18, decimal_places=4)
    new_unit_cost = serializers.DecimalField(max_digits=18, decimal_places=4)
    old_amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    new_amount = serializers.DecimalField(max_digits=20, decimal_places=2)


class PeriodCloseReportSerializer(serializers.Serializer):
    period = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    dry_run = serializers.BooleanField()
    averages = serializers.DictField(child=serializers.CharField(allow_blank=True), help_text="Final average per item code.")
    recosted = RecostingSerializer(many=True)


# --- shipping and pick lists ------------------------------------------------------------------------

class ShipLineSerializer(StrictSerializer):
    line = StrictIntegerField(min_value=1, max_value=2**62, help_text="The order line's id.")
    quantity = StrictIntegerField(required=False, min_value=1, max_value=order_serializers.MAX_QUANTITY, help_text=(
        "Units to ship; left out: all the line holds allocated and not shipped."))


class ShipRequestSerializer(StrictSerializer):
    lines = ShipLineSerializer(many=True, required=False, allow_empty=False, max_length=settings.ORDER_MAX_LINES, help_text=(
        "The lines to ship and how many units of each; left out: everything allocated and not shipped."))
    reference = StrictCharField(required=False, allow_blank=True, max_length=100, help_text=(
        "The warehouse's or carrier's reference (a tracking number): an order ships under a reference once, so a "
        "retried callback is refused (409) instead of shipping twice."))


class ShipmentSerializer(serializers.ModelSerializer):
    shipped_by = serializers.CharField(source="shipped_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Shipment
        fields = ["id", "reference", "quantity", "shipped_at", "shipped_by"]
        read_only_fields = fields


class ShippedPickSerializer(serializers.Serializer):
    result = serializers.IntegerField(help_text="The allocation result (pick) shipped from.")
    lot = serializers.IntegerField()
    lot_reference = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_cost = serializers.DecimalField(max_digits=18, decimal_places=4)
    expires_on = serializers.DateField(allow_null=True)


class ShippedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    item_code = serializers.CharField()
    quantity = serializers.IntegerField()
    picks = ShippedPickSerializer(many=True)


class ShipmentReportSerializer(serializers.Serializer):
    """The shipment just made (an `allocation.shipping.ShipReport`): the units of each line and the picks (lots)
    they came from."""

    id = serializers.IntegerField(source="shipment.id")
    reference = serializers.CharField(source="shipment.reference", allow_blank=True)
    quantity = serializers.IntegerField()
    shipped_at = serializers.DateTimeField(source="shipment.shipped_at")
    shipped_by = serializers.CharField(source="shipment.shipped_by.username", default=None, allow_null=True)
    lines = ShippedLineSerializer(many=True)


@extend_schema_serializer(component_name="Order")
class OrderSerializer(order_serializers.OrderSerializer):
    """An order with its lines (allocated and shipped per line) and its most recent shipments."""

    shipments = serializers.SerializerMethodField(help_text=(
        f"The {ORDER_SHIPMENTS_SHOWN} most recent shipments, newest first (shipments_count says how many there are)."))
    shipments_count = serializers.SerializerMethodField()
    read_only_hints = {
        **order_serializers.OrderSerializer.read_only_hints,
        "shipments": "Read only: ship with POST orders/{id}/ship/.",
        "shipments_count": "Read only: ship with POST orders/{id}/ship/.",
    }

    class Meta(order_serializers.OrderSerializer.Meta):
        fields = [*order_serializers.OrderSerializer.Meta.fields, "shipments", "shipments_count"]

    @extend_schema_field(ShipmentSerializer(many=True))
    def get_shipments(self, order: Order) -> list[dict]:
        shown = getattr(order, "recent_shipments", None)
        if shown is None:  # not prefetched (see allocation.api_orders): read them
            shown = order.shipments.select_related("shipped_by").order_by("-shipped_at", "-id")[:ORDER_SHIPMENTS_SHOWN]
        return ShipmentSerializer(shown, many=True).data

    def get_shipments_count(self, order: Order) -> int:
        count = getattr(order, "shipments_count", None)
        return order.shipments.count() if count is None else count


@extend_schema_serializer(component_name="ShippedOrder")
class ShippedOrderSerializer(OrderSerializer):
    """The order as GET shows it, and the shipment just made (the context's `report`)."""

    shipment = serializers.SerializerMethodField()

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "shipment"]

    @extend_schema_field(ShipmentReportSerializer)
    def get_shipment(self, order: Order) -> dict:
        return ShipmentReportSerializer(self.context["report"]).data


class PickListRowSerializer(serializers.Serializer):
    """What to take from one lot for one order line (units allocated and not shipped)."""

    lot = serializers.IntegerField(source="lot_id")
    lot_reference = serializers.CharField(source="lot__reference")
    item_code = serializers.CharField(source="item__item_code")
    item_name = serializers.CharField(source="item__name")
    expires_on = serializers.DateField(source="lot__expires_on", allow_null=True)
    received_on = serializers.DateField(source="lot__received_on", allow_null=True)
    quantity = serializers.IntegerField(help_text="Units to pick: allocated and not shipped.")
    order_number = serializers.CharField(source="order__order_number")
    order = serializers.IntegerField(source="order_id")
    line = serializers.IntegerField(source="order_line_id")
