from django import forms
from django.contrib import admin
from django.db.models import F, Min, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from inventory_alloc.admin_base import EXPORT_FORMATS, ServiceModelAdmin
from inventory_alloc.display import number, short_date, unit_cost
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


LOTS_SHOWN = 50  # lots listed on an item's page, newest first; the lot list has them all


def item_stock() -> dict:
    """Return the annotations of an item's stock, summed over its lots in one GROUP BY (a fixed query count).

    on hand: received and not shipped; allocated: allocated and not shipped; available: received and not
    allocated (what a run can take today); inbound: expected, not received yet; next expiry: the earliest
    expiry of a lot that still has units in the warehouse.
    """
    today = timezone.localdate()
    received = Q(lots__received_on__isnull=False, lots__received_on__lte=today)
    zero = Value(0)
    return {
        "on_hand_units": Coalesce(Sum(F("lots__quantity") - F("lots__shipped_quantity"), filter=received), zero),
        "allocated_units": Coalesce(Sum(F("lots__allocated_quantity") - F("lots__shipped_quantity")), zero),
        "available_units": Coalesce(Sum(F("lots__quantity") - F("lots__allocated_quantity"), filter=received), zero),
        "inbound_units": Coalesce(Sum("lots__quantity", filter=~received), zero),
        "next_expiry": Min("lots__expires_on", filter=Q(lots__quantity__gt=F("lots__shipped_quantity"))),
    }


@admin.register(Item)
class ItemAdmin(ImportExportPermissions, ImportExportModelAdmin, ServiceModelAdmin):
    """Items with their stock as columns (sortable) and, on an item's page, its lots."""

    writes = ITEM_WRITES
    resource_classes = [ItemResource]
    list_display = ("item_code", "name", "category", "on_hand", "allocated", "available", "inbound", "next_expiry",
                    "unit_price", "unit", "is_active")
    list_filter = ("is_active", "category")
    search_fields = ("item_code", "name")
    readonly_fields = ("stock", "lots")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(**item_stock())

    def get_fields(self, request, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f not in self.readonly_fields]
        return fields + list(self.readonly_fields) if obj is not None else fields

    @admin.display(description=_("on hand"), ordering="on_hand_units")
    def on_hand(self, item: Item) -> str:
        return number(item.on_hand_units)

    @admin.display(description=_("allocated"), ordering="allocated_units")
    def allocated(self, item: Item) -> str:
        return number(item.allocated_units)

    @admin.display(description=_("available"), ordering="available_units")
    def available(self, item: Item) -> str:
        return number(item.available_units)

    @admin.display(description=_("inbound"), ordering="inbound_units")
    def inbound(self, item: Item) -> str:
        return number(item.inbound_units)

    @admin.display(description=_("next expiry"), ordering="next_expiry")
    def next_expiry(self, item: Item) -> str:
        return short_date(item.next_expiry)

    @admin.display(description=_("stock"))
    def stock(self, item: Item) -> str:
        figures = ((gettext("on hand"), item.on_hand_units), (gettext("allocated"), item.allocated_units),
                   (gettext("available"), item.available_units), (gettext("inbound"), item.inbound_units))
        return format_html('<dl class="item-stock">{}</dl>', format_html_join(
            "", "<dt>{}</dt><dd>{}</dd>", ((label, number(value)) for label, value in figures)))

    @admin.display(description=_("lots"))
    def lots(self, item: Item) -> str:
        """The item's lots, newest first (at most LOTS_SHOWN; a link to all of them)."""
        rows = list(item.lots.order_by("-id")[:LOTS_SHOWN + 1])
        link = f"{reverse('admin:stock_lot_changelist')}?item__id__exact={item.pk}"
        more = format_html('<p><a href="{}">{}</a></p>', link, gettext("All lots of this item")) if rows else ""
        if not rows:
            return format_html('<p>{}</p><p><a href="{}?item={}">{}</a></p>', gettext("No lots yet."),
                               reverse("admin:stock_lot_add"), item.pk, gettext("Add a lot"))
        body = format_html_join("", "<tr><td><a href=\"{}\">{}</a></td>" + "<td>{}</td>" * 8 + "</tr>", (
            (reverse("admin:stock_lot_change", args=[lot.pk]), lot.reference, number(lot.quantity),
             number(lot.allocated_quantity), number(lot.shipped_quantity), number(lot.available_quantity),
             unit_cost(lot.unit_cost), short_date(lot.received_on), short_date(lot.eta), short_date(lot.expires_on))
            for lot in rows[:LOTS_SHOWN]))
        heads = (gettext("Lot"), gettext("Quantity"), gettext("allocated"), gettext("shipped"), gettext("available"),
                 gettext("unit cost"), gettext("received on"), gettext("ETA"), gettext("expires on"))
        return format_html('<table class="item-lots"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}',
                           format_html_join("", "<th>{}</th>", ((h,) for h in heads)), body, more)


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
