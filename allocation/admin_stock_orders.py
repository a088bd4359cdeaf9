"""What allocation adds to the admin pages of orders and lots, which belong to the apps below it.

`allocation.admin` swaps these subclasses in for `orders.admin.OrderAdmin` and `stock.admin.LotAdmin`:
orders get their allocated quantity as a column, the allocate / release / cancel actions, and a
Release button on the page of an order that holds allocations; lots show which orders hold them.
"""
from __future__ import annotations

from django.contrib import admin
from django.db.models import OuterRef, Subquery, Sum
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from allocation import admin_views
from allocation.admin_actions import ORDER_ACTIONS, RunAllocationPermission, order_action_urls
from allocation.models import AllocationResult
from inventory_alloc.admin_base import delete_selected
from orders.admin import OrderAdmin
from orders.models import Order
from stock.admin import LotAdmin
from stock.models import Lot

HOLDERS_SHOWN = 100


class AllocationOrderAdmin(RunAllocationPermission, OrderAdmin):
    actions = [delete_selected, *ORDER_ACTIONS]
    list_display = (*OrderAdmin.list_display, "allocated")

    def get_urls(self):
        return order_action_urls(self) + super().get_urls()

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
        if not admin_views.can_run_allocation(request):
            return None
        return reverse("admin:orders_order_release_one", args=[order.pk], current_app=self.admin_site.name)


class AllocationLotAdmin(LotAdmin):
    readonly_fields = (*LotAdmin.readonly_fields, "held_by")

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
