"""Filters of the allocation results and runs lists."""
from __future__ import annotations

import django_filters as filters

from allocation.models import (
    SHORT_STATUSES,
    AllocationResult,
    AllocationRun,
    Method,
    OutcomeStatus,
    Policy,
    RunOutcome,
    RunStatus,
)
from inventory_alloc import strict


class AllocationResultFilter(filters.FilterSet):
    order = filters.NumberFilter(field_name="order_id")
    order_number = filters.CharFilter(field_name="order__order_number")
    item_code = filters.CharFilter(field_name="lot__item__item_code")  # through the lot: indexed
    lot = filters.CharFilter(field_name="lot__reference", label="Lot reference")
    run = filters.NumberFilter(field_name="run_id")
    method = filters.ChoiceFilter(choices=Method.choices)
    allocation_date = strict.DateFromToRangeFilter()
    active = strict.BooleanFilter(field_name="released_at", lookup_expr="isnull", label="Not released")

    class Meta:
        model = AllocationResult
        fields = ["order", "order_number", "item_code", "lot", "run", "method", "allocation_date", "active"]


class AllocationRunFilter(filters.FilterSet):
    method = filters.ChoiceFilter(choices=Method.choices)
    policy = filters.ChoiceFilter(choices=Policy.choices)
    status = filters.ChoiceFilter(choices=RunStatus.choices)
    as_of = strict.DateFromToRangeFilter()

    class Meta:
        model = AllocationRun
        fields = ["method", "policy", "status", "as_of"]


class RunOutcomeFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=OutcomeStatus.choices)
    short = strict.BooleanFilter(method="filter_short", label="Only orders that fell short (true) or only full ones (false)")
    order_number = filters.CharFilter()

    class Meta:
        model = RunOutcome
        fields = ["status", "short", "order_number"]

    def filter_short(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(status__in=SHORT_STATUSES) if value else queryset.exclude(status__in=SHORT_STATUSES)
