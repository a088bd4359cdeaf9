from django import forms
from django.contrib import admin
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from allocation.selectors import lot_holders
from stock.models import Item, Lot


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
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
            holders = ", ".join(lot_holders(self.instance.pk))
            raise forms.ValidationError(
                _("%(allocated)s units of this lot are allocated (orders %(orders)s); release them first."),
                params={"allocated": self.instance.allocated_quantity, "orders": holders},
            )
        return quantity


@admin.register(Lot)
class LotAdmin(admin.ModelAdmin):
    form = LotForm
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
