"""Filters of the customers, payments and orders lists."""
from __future__ import annotations

import django_filters as filters

from inventory_alloc import strict
from orders.models import Customer, Order, OrderLine, OrderStatus, Payment, PaymentStatus


class CustomerFilter(filters.FilterSet):
    is_active = strict.BooleanFilter()

    class Meta:
        model = Customer
        fields = ["is_active"]


class PaymentFilter(filters.FilterSet):
    customer = filters.ModelChoiceFilter(queryset=Customer.objects.all())
    status = filters.ChoiceFilter(choices=PaymentStatus.choices)
    due_date = strict.DateFromToRangeFilter()
    paid_on = strict.DateFromToRangeFilter()

    class Meta:
        model = Payment
        fields = ["customer", "status", "due_date", "paid_on"]


class OrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=OrderStatus.choices)
    customer = filters.ModelChoiceFilter(queryset=Customer.objects.all())
    order_date = strict.DateFromToRangeFilter()
    item_code = filters.CharFilter(method="filter_item_code", label="Orders with a line of this item")

    class Meta:
        model = Order
        fields = ["status", "customer", "order_date", "item_code"]

    def filter_item_code(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(id__in=OrderLine.objects.filter(item__item_code=value).values("order_id"))
