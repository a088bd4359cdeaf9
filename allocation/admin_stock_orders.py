"""What allocation adds to the admin pages of orders and lots, which belong to the apps below it.

`allocation.admin` swaps these subclasses in for `orders.admin.OrderAdmin` and `stock.admin.LotAdmin`:
orders get their allocated quantity as a column, the allocate / release / cancel / ship actions, a
Release button (while something can be released) and a Ship button (while something is allocated and
not shipped) on the page of an order that holds allocations, and a link to its pick list; lots show
which orders hold them, and what has shipped and is still on hand.
"""
from __future__ import annotations

from django.contrib import admin
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from allocation import admin_shipping, admin_views
from allocation.admin_actions import ORDER_ACTIONS, RunAllocationPermission, order_action_urls
from allocation.models import AllocationResult
from inventory_alloc.admin_base import delete_selected
from orders.admin import OrderAdmin
from orders.models import Order
from stock.admin import LotAdmin
from stock.models import Lot

HOLDERS_SHOWN = 100


class AllocationOrderAdmin(RunAllocationPermission, admin_shipping.ShipOrderPermission, OrderAdmin):
    actions = [delete_selected, *ORDER_ACTIONS, admin_shipping.ship_orders]
    list_display = (*OrderAdmin.list_display, "allocated")

    def get_urls(self):
        return order_action_urls(self) + admin_shipping.order_urls(self) + super().get_urls()

    def get_queryset(self, request):
        allocated = (
            AllocationResult.objects.active().filter(order_id=OuterRef("pk")).order_by()
            .values("order_id").annotate(q=Sum("allocated_quantity")).values("q")
        )
        return super().get_queryset(request).annotate(allocated_quantity=Subquery(allocated))

    @admin.display(description=_("allocated"), ordering="allocated_quantity")
    def allocated(self, order: Order) -> int:
        return order.allocated_quantity or 0

    def release_url(self, request, order: Order) -> str | None:
        if not admin_views.can_run_allocation(request) or not held_units(order)["releasable"]:
            return None  # shipped picks are never released
        return reverse("admin:orders_order_release_one", args=[order.pk], current_app=self.admin_site.name)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        order = self.get_object(request, object_id) if object_id else None
        if order is not None:
            extra["pick_list_url"] = reverse("admin:orders_order_pick_list", args=[order.pk],
                                             current_app=self.admin_site.name)
            if admin_shipping.can_ship(request) and held_units(order)["unshipped"]:
                extra["ship_url"] = reverse("admin:orders_order_ship_one", args=[order.pk],
                                            current_app=self.admin_site.name)
            if held_units(order)["shipped"]:
                extra["shipped_note"] = gettext(
                    "%(units)s of these units have shipped: they are never released, and the order can no longer "
                    "be cancelled.") % {"units": held_units(order)["shipped"]}
        return super().changeform_view(request, object_id, form_url, extra)


def held_units(order: Order) -> dict[str, int]:
    """Return the units the order's active picks hold not shipped, those shipped, and those of picks nothing of
    which shipped (what a release gives back); asked once per order object."""
    if not hasattr(order, "_held_units"):
        held = AllocationResult.objects.active().filter(order=order).aggregate(
            unshipped=Sum(F("allocated_quantity") - F("shipped_quantity")), shipped=Sum("shipped_quantity"),
            releasable=Sum("allocated_quantity", filter=Q(shipped_quantity=0)))
        order._held_units = {key: value or 0 for key, value in held.items()}
    return order._held_units


class AllocationLotAdmin(LotAdmin):
    list_display = (*LotAdmin.list_display[:LotAdmin.list_display.index("available") + 1], "shipped_quantity", "on_hand",
                    *LotAdmin.list_display[LotAdmin.list_display.index("available") + 1:])
    readonly_fields = (*LotAdmin.readonly_fields, "shipped_quantity", "on_hand", "held_by")

    @admin.display(description=_("on hand"), ordering=F("quantity") - F("shipped_quantity"))
    def on_hand(self, lot: Lot) -> int:
        return lot.on_hand_quantity

    @admin.display(description=_("held by"))
    def held_by(self, lot: Lot) -> str:
        """Show the orders holding active allocations on the lot: order, quantity, run."""
        if not lot.pk or not lot.allocated_quantity:
            return gettext("Nothing is allocated from this lot.")
        active = AllocationResult.objects.active().filter(lot=lot)
        rows = list(
            active.values("order_id", "order__order_number", "run_id")
            .annotate(quantity=Sum("allocated_quantity")).order_by("order__order_number", "run_id")[:HOLDERS_SHOWN + 1]
        )
        more = ""
        if len(rows) > HOLDERS_SHOWN:
            total = active.values("order_id", "run_id").distinct().count()
            more = gettext("%(count)s more not shown.") % {"count": total - HOLDERS_SHOWN}
            rows = rows[:HOLDERS_SHOWN]
        body = format_html_join("", '<tr><td><a href="{}">{}</a></td><td>{}</td><td><a href="{}">#{}</a></td></tr>', (
            (reverse("admin:orders_order_change", args=[r["order_id"]]), r["order__order_number"], r["quantity"],
             reverse("admin:allocation_allocationrun_change", args=[r["run_id"]]), r["run_id"]) for r in rows
        ))
        return format_html(
            '<table class="lot-holders"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>{}',
            gettext("Order"), gettext("Quantity"), gettext("Run"), body, more,
        )


def extend(site: admin.AdminSite) -> None:
    """Register the allocation app's versions of the order and lot admins on `site`."""
    for model, model_admin in ((Order, AllocationOrderAdmin), (Lot, AllocationLotAdmin)):
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
