"""API shapes of items and lots (and lots in the original design's flat `inventory` shape)."""
from __future__ import annotations

import secrets

from django.utils import timezone
from rest_framework import serializers

from inventory_alloc.dates import SANE_DATE
from inventory_alloc.strict import StrictDateField, StrictDecimalField, StrictModelSerializer, StrictSlugRelatedField
from stock.models import Item, Lot

ALLOCATED_HINT = ("Read only: allocation runs and releases change it (POST allocate/, POST orders/{id}/release/); "
                  "change `quantity` for what was received.")


class ItemSerializer(StrictModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "item_code", "name", "category", "unit_price", "unit", "is_active"]
        extra_kwargs = {"unit_price": {"min_value": 0}}


class LotSerializer(StrictModelSerializer):
    item_code = StrictSlugRelatedField(source="item", slug_field="item_code", queryset=Item.objects.all())
    available_quantity = serializers.IntegerField(read_only=True)
    on_hand_quantity = serializers.IntegerField(
        read_only=True, help_text="Units still in the warehouse (or expected): quantity - shipped_quantity.")
    read_only_hints = {
        "item": "Read only: set `item_code` instead.",
        "allocated_quantity": ALLOCATED_HINT,
        "available_quantity": "Read only: it is quantity - allocated_quantity.",
        "shipped_quantity": "Read only: shipping an order changes it (POST orders/{id}/ship/).",
        "on_hand_quantity": "Read only: it is quantity - shipped_quantity.",
    }

    class Meta:
        model = Lot
        fields = [
            "id", "reference", "item", "item_code", "quantity", "unit_cost", "received_on", "eta", "expires_on",
            "note", "allocated_quantity", "available_quantity", "shipped_quantity", "on_hand_quantity", "created_at",
            "updated_at",
        ]
        read_only_fields = ["item", "allocated_quantity", "shipped_quantity", "created_at", "updated_at"]
        extra_kwargs = {"quantity": {"min_value": 1, "max_value": 2_000_000_000}, "unit_cost": {"min_value": 0}}


def generate_lot_reference(day=None) -> str:
    """Return a new lot reference such as INV-20260125-9F3A1C."""
    return f"INV-{(day or timezone.localdate()):%Y%m%d}-{secrets.token_hex(3).upper()}"


class InventorySerializer(StrictModelSerializer):
    """A lot as the original design wrote it: item_code, quantity, receipt_date, unit_price."""

    item_code = StrictSlugRelatedField(source="item", slug_field="item_code", queryset=Item.objects.all())
    receipt_date = StrictDateField(source="received_on", required=False, allow_null=True, validators=SANE_DATE)
    unit_price = StrictDecimalField(source="unit_cost", max_digits=18, decimal_places=4, min_value=0)
    available_quantity = serializers.IntegerField(read_only=True)
    read_only_hints = {
        "reference": "Read only: a new lot's reference is generated (INV-<date>-<hex>); use lots/ to choose one.",
        "allocated_quantity": ALLOCATED_HINT,
        "available_quantity": "Read only: it is quantity - allocated_quantity.",
    }

    class Meta:
        model = Lot
        fields = ["id", "reference", "item_code", "quantity", "receipt_date", "unit_price", "allocated_quantity",
                  "available_quantity"]
        read_only_fields = ["reference", "allocated_quantity"]
        extra_kwargs = {"quantity": {"min_value": 1, "max_value": 2_000_000_000}}

    def receipt(self) -> dict:
        """Return the validated lot with the receipt date (default today) and a generated reference."""
        fields = dict(self.validated_data)
        fields.setdefault("received_on", timezone.localdate())
        fields["reference"] = generate_lot_reference(fields["received_on"])
        return fields
