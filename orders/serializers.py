"""API shapes of customers, payments and orders (with nested, writable lines)."""
from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from orders.models import Customer, Order, OrderLine, Payment
from orders.services import order_create, order_update
from stock.models import Item, Lot

MAX_QUANTITY = 2_000_000_000


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "code", "name", "email", "phone", "credit_limit", "credit_period_days", "is_active"]
        extra_kwargs = {"credit_limit": {"min_value": 0}, "credit_period_days": {"max_value": 36_500}}


class CustomerMetricsSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    performance = serializers.FloatField()
    payment_frequency = serializers.FloatField()
    credit_adherence = serializers.FloatField()
    stock_availability = serializers.FloatField()
    score = serializers.FloatField()


class PaymentSerializer(serializers.ModelSerializer):
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "customer", "amount", "due_date", "paid_on", "status", "is_overdue"]
        extra_kwargs = {"amount": {"min_value": Decimal("0.01")}}


class OrderLineSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(
        required=False, min_value=1, max_value=2**62,
        help_text="When editing an order: the line to keep and change (lines left out are removed).",
    )
    item_code = serializers.SlugRelatedField(source="item", slug_field="item_code", queryset=Item.objects.all())
    lot = serializers.SlugRelatedField(
        slug_field="reference", queryset=Lot.objects.all(), required=False, allow_null=True,
        help_text="Reference of the lot to take (only SPECIFIC uses it); it must be a lot of the line's item.",
    )
    allocated_quantity = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = OrderLine
        fields = ["id", "item_code", "quantity", "unit_price", "lot", "allocated_quantity"]
        extra_kwargs = {
            "quantity": {"min_value": 1, "max_value": MAX_QUANTITY},
            "unit_price": {"min_value": 0},
        }

    def validate(self, attrs: dict) -> dict:
        lot, item = attrs.get("lot"), attrs.get("item")
        if lot is not None and item is not None and lot.item_id != item.pk:
            raise serializers.ValidationError({"lot": [f"Lot {lot.reference} is not a lot of item {item.item_code}."]})
        return attrs


class OrderSerializer(serializers.ModelSerializer):
    """An order with its lines. Also accepts the flat shape {"order_id", "item_code", "quantity"}."""

    lines = OrderLineSerializer(many=True, allow_empty=False)
    customer_code = serializers.CharField(source="customer.code", read_only=True, default=None)

    class Meta:
        model = Order
        fields = ["id", "order_number", "customer", "customer_code", "order_date", "priority", "status", "note",
                  "lines", "created_at", "updated_at"]
        read_only_fields = ["status", "created_at", "updated_at"]
        extra_kwargs = {
            "order_number": {"required": False},
            "priority": {"min_value": -1_000_000, "max_value": 1_000_000},
        }

    def to_internal_value(self, data):
        if isinstance(data, dict) and "lines" not in data and "item_code" in data:
            data = _from_flat_shape(data)
        return super().to_internal_value(data)

    def create(self, validated_data: dict) -> Order:
        return order_create(user=self.context["request"].user, **validated_data)

    def update(self, instance: Order, validated_data: dict) -> Order:
        return order_update(order=instance, user=self.context["request"].user, **validated_data)


def _from_flat_shape(data: dict) -> dict:
    """Return the original design's one-line order {"order_id", "item_code", "quantity"} in nested shape."""
    flat = {key: data[key] for key in ("item_code", "quantity", "unit_price", "lot") if key in data}
    nested = {key: value for key, value in data.items() if key not in flat and key != "order_id"}
    if "order_id" in data and "order_number" not in data:
        nested["order_number"] = data["order_id"]
    nested["lines"] = [flat]
    return nested
