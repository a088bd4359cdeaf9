from datetime import timedelta

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from inventory_alloc.admin_base import EXPORT_FORMATS, BusinessDateExport, ServiceModelAdmin, money_column
from inventory_alloc.display import number, short_date, unit_cost
from inventory_alloc.kept_imports import KeepsImportFile
from stock.models import Item, Lot
from stock.resources import ItemResource, LotExportResource, LotResource
from stock.selectors import stock_figures
from stock.services import ITEM_WRITES, LOT_WRITES, lot_holders


class ImportExportPermissions(KeepsImportFile, BusinessDateExport):
    """CSV and Excel only; import needs add and change rights on the model, export needs view rights; files are
    named after the business date; a failed import's file is kept for a retry."""

    import_formats = EXPORT_FORMATS
    export_formats = EXPORT_FORMATS

    def has_import_permission(self, request) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request) -> bool:
        return self.has_view_permission(request)


LOTS_SHOWN = 50  # lots listed on an item's page, newest first; the lot list has them all


@admin.register(Item)
class ItemAdmin(ImportExportPermissions, ImportExportModelAdmin, ServiceModelAdmin):
    """Items with their stock as columns (sortable; `stock.selectors` defines them) and, on an item's page, its lots."""

    writes = ITEM_WRITES
    resource_classes = [ItemResource]
    list_display = ("item_code", "name", "category", "on_hand", "allocated", "available", "inbound", "next_expiry",
                    "unit_price_shown", "unit", "is_active")
    unit_price_shown = money_column("unit_price", _("unit price"))
    list_filter = ("is_active", "category")
    search_fields = ("item_code", "name")
    readonly_fields = ("stock", "lots")

    def get_queryset(self, request):
        # ordered again: Django drops the model's ordering from a GROUP BY (the autocomplete pages by it)
        return super().get_queryset(request).annotate(**stock_figures(timezone.localdate())).order_by("item_code")

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


class ExpiringFilter(admin.SimpleListFilter):
    """Lots with units left (not all allocated) that expire within N days from today, or have expired.

    Any number of days works in the URL (`?expiring=45`); the dashboard links to its 30 days here."""

    title = _("expiry")
    parameter_name = "expiring"

    def lookups(self, request, model_admin):
        return [("expired", _("Expired")), *((str(days), _("Within %(days)s days") % {"days": days})
                                            for days in (7, 30, 90))]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        today = timezone.localdate()
        left = queryset.filter(quantity__gt=F("allocated_quantity"))
        if value == "expired":
            return left.filter(expires_on__lt=today)
        if not value.isdigit() or not 0 < int(value) <= 3660:
            raise IncorrectLookupParameters(f"expiring={value}")
        return left.filter(expires_on__gte=today, expires_on__lte=today + timedelta(days=int(value)))


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

    def get_export_resource_classes(self, request):
        return [LotExportResource]
    list_display = (
        "reference", "item", "quantity", "allocated_quantity", "available", "unit_cost_shown",
        "received_on", "eta", "expires_on",
    )
    unit_cost_shown = money_column("unit_cost", _("unit cost"), unit_cost)
    list_filter = (ExpiringFilter, "received_on", "expires_on", "item__category")
    search_fields = ("reference", "item__item_code", "item__name")
    date_hierarchy = "received_on"
    autocomplete_fields = ("item",)
    list_select_related = ("item",)
    readonly_fields = ("allocated_quantity", "created_at", "updated_at")

    @admin.display(description=_("available"), ordering=F("quantity") - F("allocated_quantity"))
    def available(self, lot: Lot) -> int:
        return lot.available_quantity
