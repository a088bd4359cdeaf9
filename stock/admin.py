from django import forms
from django.contrib import admin
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from inventory_alloc.admin_base import EXPORT_FORMATS, ServiceModelAdmin
from stock.models import Item, Lot
from stock.resources import ItemResource, LotResource
from stock.services import ITEM_WRITES, LOT_WRITES, lot_holders


class ImportExportPermissions:
    """CSV and Excel only; import needs add and change rights on the model, export needs view rights."""

    import_formats = EXPORT_FORMATS
    export_formats = EXPORT_FORMATS

    def has_import_permission(self, request) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request) -> bool:
        return self.has_view_permission(request)


@admin.register(Item)
class ItemAdmin(ImportExportPermissions, ImportExportModelAdmin, ServiceModelAdmin):
    writes = ITEM_WRITES
    resource_classes = [ItemResource]
    list_display = ("item_code", "name", "category", "unit_price", "unit", "is_active")
    list_filter = ("is_active", "category")
    search_fields = ("item_code", "name")


class LotForm(forms.ModelForm):
    class Meta:
        model = Lot
        fields = ("reference", "item", "quantity", "unit_cost", "received_on", "eta", "expires_on", "note")

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if self.instance.pk and quantity is not None and quantity < self.instance.allocated_quantity:
            holders = ", ".join(lot_holders(self.instance))
            raise forms.ValidationError(
                _("%(allocated)s units of this lot are allocated (orders %(orders)s); release them first."),
                params={"allocated": self.instance.allocated_quantity, "orders": holders},
            )
        return quantity


@admin.register(Lot)
class LotAdmin(ImportExportPermissions, ImportExportModelAdmin, ServiceModelAdmin):
    """Lots; edits and deletions go through stock.services so allocated stock is never lost.

    The allocation app extends this admin with the orders holding a lot (`allocation.admin`)."""

    writes = LOT_WRITES
    form = LotForm
    resource_classes = [LotResource]
    list_display = (
        "reference", "item", "quantity", "allocated_quantity", "available", "unit_cost",
        "received_on", "eta", "expires_on",
    )
    list_filter = ("received_on", "expires_on", "item__category")
    search_fields = ("reference", "item__item_code", "item__name")
    date_hierarchy = "received_on"
    autocomplete_fields = ("item",)
    list_select_related = ("item",)
    readonly_fields = ("allocated_quantity", "created_at", "updated_at")

    @admin.display(description=_("available"), ordering=F("quantity") - F("allocated_quantity"))
    def available(self, lot: Lot) -> int:
        return lot.available_quantity
