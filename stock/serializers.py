"""API shapes of items and lots (and lots in the original design's flat `inventory` shape)."""
from __future__ import annotations

import secrets

from django.utils import timezone
from rest_framework import serializers

from stock.models import Item, Lot


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "item_code", "name", "category", "unit_price", "unit", "is_active"]
        extra_kwargs = {"unit_price": {"min_value": 0}}


class LotSerializer(serializers.ModelSerializer):
    item_code = serializers.SlugRelatedField(source="item", slug_field="item_code", queryset=Item.objects.all())
    available_quantity = serializers.IntegerField(read_only=True)

    class Meta:
        model = Lot
        fields = [
            "id", "reference", "item", "item_code", "quantity", "unit_cost", "received_on", "eta", "expires_on",
            "note", "allocated_quantity", "available_quantity", "created_at", "updated_at",
        ]
        read_only_fields = ["item", "allocated_quantity", "created_at", "updated_at"]
        extra_kwargs = {"quantity": {"min_value": 1, "max_value": 2_000_000_000}, "unit_cost": {"min_value": 0}}


def generate_lot_reference(day=None) -> str:
    """Return a new lot reference such as INV-20260125-9F3A1C."""
    return f"INV-{(day or timezone.localdate()):%Y%m%d}-{secrets.token_hex(3).upper()}"


class InventorySerializer(serializers.ModelSerializer):
    """A lot as the original design wrote it: item_code, quantity, receipt_date, unit_price."""

    item_code = serializers.SlugRelatedField(source="item", slug_field="item_code", queryset=Item.objects.all())
    receipt_date = serializers.DateField(source="received_on", required=False, allow_null=True)
    unit_price = serializers.DecimalField(source="unit_cost", max_digits=18, decimal_places=4, min_value=0)
    available_quantity = serializers.IntegerField(read_only=True)

    class Meta:
        model = Lot
        fields = ["id", "reference", "item_code", "quantity", "receipt_date", "unit_price", "allocated_quantity",
                  "available_quantity"]
        read_only_fields = ["reference", "allocated_quantity"]
        extra_kwargs = {"quantity": {"min_value": 1, "max_value": 2_000_000_000}}

    def create(self, validated_data: dict) -> Lot:
        validated_data.setdefault("received_on", timezone.localdate())
        validated_data["reference"] = generate_lot_reference(validated_data["received_on"])
        return super().create(validated_data)
