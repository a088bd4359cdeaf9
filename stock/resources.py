"""CSV/Excel import and export of items and lots (see `inventory_alloc.imports`).

Lots are matched by reference and updated through `stock.services.lot_update` (never below what is
allocated, as the allocation app says). The export (`LotExportResource`) adds the allocated, shipped and
available quantities, which an import ignores.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
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


class LotExportResource(LotResource):
    """Lots as exported: the import's columns, and what the allocation and shipping services keep (an import of
    such a file ignores those three)."""

    allocated_quantity = fields.Field(attribute="allocated_quantity", column_name="allocated_quantity", readonly=True)
    shipped_quantity = fields.Field(attribute="shipped_quantity", column_name="shipped_quantity", readonly=True)
    available_quantity = fields.Field(attribute="available_quantity", column_name="available_quantity", readonly=True)
    labels = {"available_quantity": _("available quantity")}  # the export page's name of a column with no model field

    class Meta(LotResource.Meta):
        fields = (*LotResource.Meta.fields, "allocated_quantity", "shipped_quantity", "available_quantity")
