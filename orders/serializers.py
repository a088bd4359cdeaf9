"""API shapes of customers, payments and orders (with nested, writable lines)."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory_alloc.strict import StrictIntegerField, StrictModelSerializer, StrictSlugRelatedField
from orders.models import Customer, Order, OrderLine, Payment
from orders.selectors import order_total
from stock.models import Item, Lot

MAX_QUANTITY = 2_000_000_000


class CustomerSerializer(StrictModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "code", "name", "email", "phone", "address", "notes", "credit_limit", "credit_period_days",
                  "is_active"]
        extra_kwargs = {"credit_limit": {"min_value": 0}, "credit_period_days": {"max_value": 36_500}}


class PaymentSerializer(StrictModelSerializer):
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "customer", "amount", "due_date", "paid_on", "status", "is_overdue"]
        extra_kwargs = {"amount": {"min_value": Decimal("0.01")}}


class LinesSlugField(StrictSlugRelatedField):
    """A slug (item code, lot reference) of an order line, looked up for every line of the order in one query.

    The first line asks for the slugs of all the order's lines (`OrderSerializer.lines_input`), so an order of
    1,000 lines costs one query per kind, not one per line.
    """

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        found = self._found()
        if str(data) not in found:
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        return found[str(data)]

    def _found(self) -> dict:
        cache = self.root.__dict__.setdefault("_slugs_found", {})
        key = (self.queryset.model, self.slug_field)
        if key not in cache:
            lines = getattr(self.root, "lines_input", None) or []
            wanted = {str(line[self.field_name]) for line in lines
                      if isinstance(line, dict) and isinstance(line.get(self.field_name), str)}
            rows = self.get_queryset().filter(**{f"{self.slug_field}__in": wanted})
            cache[key] = {str(getattr(row, self.slug_field)): row for row in rows}
        return cache[key]


class OrderLineSerializer(StrictModelSerializer):
    id = StrictIntegerField(
        required=False, min_value=1, max_value=2**62,
        help_text="When editing an order: the line to keep and change (lines left out are removed).",
    )
    item_code = LinesSlugField(source="item", slug_field="item_code", queryset=Item.objects.all())
    lot = LinesSlugField(
        slug_field="reference", queryset=Lot.objects.all(), required=False, allow_null=True,
        help_text="Reference of the lot to take (only SPECIFIC uses it); it must be a lot of the line's item.",
    )
    allocated_quantity = serializers.IntegerField(read_only=True, default=0)
    shipped_quantity = serializers.IntegerField(read_only=True, default=0, help_text="Of the units allocated, those shipped.")
    subtotal = serializers.DecimalField(
        max_digits=24, decimal_places=2, read_only=True, allow_null=True,
        help_text="quantity × unit_price, rounded half up to cents.",
    )
    read_only_hints = {
        "allocated_quantity": "Read only: allocation runs and releases change it (POST allocate/, orders/{id}/release/).",
        "shipped_quantity": "Read only: shipping changes it (POST orders/{id}/ship/).",
        "subtotal": "Read only: it is quantity × unit_price.",
    }

    class Meta:
        model = OrderLine
        fields = ["id", "item_code", "quantity", "unit_price", "lot", "allocated_quantity", "shipped_quantity", "subtotal"]
        extra_kwargs = {
            "quantity": {"min_value": 1, "max_value": MAX_QUANTITY},
            "unit_price": {"min_value": 0},
        }

    def current_representation(self, data):
        """Return the order's current line with the `id` given (read-only fields may be sent back unchanged)."""
        parent = self.parent.parent if self.parent is not None else None
        current = parent.current_representation(data) if parent is not None else None
        lines = {line["id"]: line for line in (current or {}).get("lines", [])}
        return lines.get(data.get("id"))

    def validate(self, attrs: dict) -> dict:
        lot, item = attrs.get("lot"), attrs.get("item")
        if lot is not None and item is not None and lot.item_id != item.pk:
            raise serializers.ValidationError({"lot": [f"Lot {lot.reference} is not a lot of item {item.item_code}."]})
        return attrs


class OrderSerializer(StrictModelSerializer):
    """An order with its lines. Also accepts the flat shape {"order_id", "item_code", "quantity"}."""

    lines = OrderLineSerializer(many=True, allow_empty=False)
    customer_code = serializers.CharField(source="customer.code", read_only=True, default=None, allow_null=True)
    total_amount = serializers.SerializerMethodField(help_text="Sum of the lines' subtotals (decimal string).")
    read_only_hints = {
        "status": ("Read only: the allocation services keep it. Allocate with POST allocate/, release with "
                   "POST orders/{id}/release/, cancel with POST orders/{id}/cancel/, ship with POST orders/{id}/ship/."),
        "customer_code": "Read only: set `customer` (the customer's id) instead.",
        "total_amount": "Read only: it is the sum of the lines' subtotals.",
    }

    class Meta:
        model = Order
        fields = ["id", "order_number", "customer", "customer_code", "order_date", "priority", "status", "note",
                  "lines", "total_amount", "created_at", "updated_at"]
        read_only_fields = ["status", "created_at", "updated_at"]
        extra_kwargs = {
            "order_number": {"required": False},
            "priority": {"min_value": -1_000_000, "max_value": 1_000_000},
        }

    @extend_schema_field(serializers.DecimalField(max_digits=24, decimal_places=2))
    def get_total_amount(self, order: Order) -> str:
        return str(order_total(order.lines.all()))

    def to_internal_value(self, data):
        if isinstance(data, dict) and "lines" not in data and "item_code" in data:
            data = _from_flat_shape(data)
        lines = data.get("lines") if isinstance(data, dict) else None
        if isinstance(lines, list):
            if len(lines) > settings.ORDER_MAX_LINES:  # refused before a single line is looked at
                raise serializers.ValidationError({"lines": [
                    f"An order holds at most {settings.ORDER_MAX_LINES} lines (ORDER_MAX_LINES); this one has "
                    f"{len(lines)}. Split it into several orders."]})
            self.lines_input = lines
        return super().to_internal_value(data)


def _from_flat_shape(data: dict) -> dict:
    """Return the original design's one-line order {"order_id", "item_code", "quantity"} in nested shape."""
    flat = {key: data[key] for key in ("item_code", "quantity", "unit_price", "lot") if key in data}
    nested = {key: value for key, value in data.items() if key not in flat}
    if "order_id" in nested and "order_number" not in nested:  # with both, order_id is refused as unknown
        nested["order_number"] = nested.pop("order_id")
    nested["lines"] = [flat]
    return nested
