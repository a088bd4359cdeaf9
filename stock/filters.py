"""Filters of the items and lots lists."""
from __future__ import annotations

import django_filters as filters

from inventory_alloc import strict
from stock.models import Item, Lot


class ItemFilter(filters.FilterSet):
    category = filters.CharFilter()
    is_active = strict.BooleanFilter()

    class Meta:
        model = Item
        fields = ["category", "is_active"]


class LotFilter(filters.FilterSet):
    item_code = filters.CharFilter(field_name="item__item_code")
    in_stock = strict.DateFilter(method="filter_in_stock", label="In stock at this date")
    inbound = strict.DateFilter(method="filter_inbound", label="Inbound (not received, not expired) at this date")
    expired = strict.DateFilter(method="filter_expired", label="Expired at this date")
    received_on = strict.DateFromToRangeFilter()

    class Meta:
        model = Lot
        fields = ["item_code", "in_stock", "inbound", "expired", "received_on"]

    def filter_in_stock(self, queryset, name, value):
        return queryset.in_stock(value) if value else queryset

    def filter_inbound(self, queryset, name, value):
        return queryset.inbound(value) if value else queryset

    def filter_expired(self, queryset, name, value):
        return queryset.expired(value) if value else queryset
