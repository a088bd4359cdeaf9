"""API shapes of allocation: run requests, runs, results, releases and period closes."""
from __future__ import annotations

from dataclasses import MISSING, Field

from rest_framework import serializers

from allocation.models import AllocationResult, AllocationRun, RunOutcome
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
from orders.models import Order
from stock.models import Item, Lot


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

    class Meta:
        model = AllocationResult
        fields = [
            "id", "run", "order", "order_number", "line", "item_code", "lot", "allocated_quantity", "unit_cost",
            "allocated_price", "allocation_date", "method", "cost_final", "provisional_unit_cost",
            "provisional_price", "created_at", "released_at", "active",
        ]
        read_only_fields = fields


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


def dry_run_results(run: AllocationRun, picks: list) -> list[AllocationResult]:
    """Return a dry run's picks as unsaved results (id and run empty), ready for AllocationResultSerializer."""
    orders = Order.objects.only("order_number").in_bulk({p.order_id for p in picks})
    items = Item.objects.only("item_code").in_bulk({p.item_id for p in picks})
    lots = Lot.objects.only("reference").in_bulk({p.lot_id for p in picks})
    return [
        AllocationResult(
            order=orders[p.order_id], order_line_id=p.line_id, item=items[p.item_id], lot=lots[p.lot_id],
            allocated_quantity=p.quantity, unit_cost=p.unit_cost, allocated_price=p.amount, cost_final=p.cost_final,
            allocation_date=run.as_of, method=run.method,
        )
        for p in picks
    ]


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
