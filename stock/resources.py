"""CSV/Excel import and export of items and lots (see `inventory_alloc.imports`).

Lots are matched by reference and updated through `stock.services.lot_update` (never below what is
allocated, as the allocation app says; `allocated_quantity` is not a column).
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from import_export import fields

from inventory_alloc.errors import DomainError
from inventory_alloc.imports import BackOfficeResource, CodeWidget
from stock.models import Item, Lot
from stock.services import ITEM_WRITES, LOT_WRITES, lot_extensions


class ItemResource(BackOfficeResource):
    writes = ITEM_WRITES

    class Meta:
        model = Item
        fields = ("item_code", "name", "category", "unit_price", "unit", "is_active")
        import_id_fields = ("item_code",)
        clean_model_instances = True
        skip_unchanged = True


class LotResource(BackOfficeResource):
    writes = LOT_WRITES
    item = fields.Field(attribute="item", column_name="item_code", widget=CodeWidget(Item, "item_code"))

    class Meta:
        model = Lot
        # allocated_quantity is kept by the allocation services; it is never a column.
        fields = ("reference", "item", "quantity", "unit_cost", "received_on", "eta", "expires_on", "note")
        import_id_fields = ("reference",)
        clean_model_instances = True
        skip_unchanged = True

    def validate_instance(self, instance: Lot, import_validation_errors=None, validate_unique=True) -> None:
        """Show a refused quantity (below what is allocated) in the preview already, on its column."""
        errors = dict(import_validation_errors or {})
        if instance.pk and isinstance(instance.quantity, int):
            try:
                lot_extensions.refuse("change", lot=instance, changes={"quantity": instance.quantity})
            except DomainError as refused:
                errors.setdefault("quantity", ValidationError(refused.message))
        super().validate_instance(instance, errors, validate_unique)
