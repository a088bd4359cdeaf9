"""What allocation adds to the admin pages of orders and lots, which belong to the apps below it.

`allocation.admin` swaps these subclasses in for `orders.admin.OrderAdmin` and `stock.admin.LotAdmin`:
orders get their allocated quantity as a column, the allocate / release / cancel / ship actions, a
Release button (while something can be released) and a Ship button (while something is allocated and
not shipped) on the page of an order that holds allocations, and a link to its pick list; lots show
which orders hold them, and what has shipped and is still on hand.
"""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib import admin
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.views import ChangeList

from allocation import admin_shipping, admin_views
from allocation.admin_actions import ORDER_ACTIONS, RunAllocationPermission, order_action_urls
from allocation.models import AllocationResult
from allocation.scores import customer_metrics
from inventory_alloc.admin_base import delete_selected
from inventory_alloc.display import money, number, unit_cost
from orders.admin import CustomerAdmin, OrderAdmin
from orders.models import ALLOCATABLE_STATUSES, SHIPPED_STATUSES, Customer, Order, OrderStatus
from stock.admin import LotAdmin
from stock.models import Lot

HOLDERS_SHOWN = 100


ACTIVE_ALLOCATED = Sum("allocation_results__allocated_quantity", filter=Q(allocation_results__released_at__isnull=True))
TIE_BREAKS = {"pk", "-pk", "id", "-id"}


class AllocatedRankChangeList(ChangeList):
    """The orders list, which ranks a page sorted by allocated quantity with one grouped join.

    The column's value is a correlated sum per order: cheap for the 100 orders of a page, but sorting every order
    by it runs it 100,000 times (350 ms on SQLite at 100,000 orders, bench/admin_pages.py). When the list is sorted
    by that column alone, the page's orders are ranked by one join of the filtered orders with their active results
    grouped by order (same figure, same NULLs, so the same order on each database), then read with the others."""

    def get_results(self, request) -> None:
        super().get_results(request)
        ordering = list(self.queryset.query.order_by)
        if (not ordering or ordering[0].lstrip("-") != "allocated_quantity" or set(ordering[1:]) - TIE_BREAKS
                or (self.show_all and self.can_show_all) or not self.multi_page):
            return
        page = self.paginator.get_page(self.page_num)
        bottom = (page.number - 1) * self.list_per_page
        sign = "-" if ordering[0].startswith("-") else ""
        ids = list(
            Order.objects.filter(pk__in=self.queryset.order_by().values("pk")).values("pk")
            .annotate(ranked=ACTIVE_ALLOCATED).order_by(f"{sign}ranked", *ordering[1:])
            .values_list("pk", flat=True)[bottom:bottom + self.list_per_page]
        )
        rows = {order.pk: order for order in self.queryset.order_by().filter(pk__in=ids)}
        self.result_list = [rows[pk] for pk in ids if pk in rows]


class AllocationOrderAdmin(RunAllocationPermission, admin_shipping.ShipOrderPermission, OrderAdmin):
    actions = [delete_selected, *ORDER_ACTIONS, admin_shipping.ship_orders]
    list_display = (*OrderAdmin.list_display, "allocated")
    readonly_fields = (*OrderAdmin.readonly_fields, "allocation")

    @admin.display(description=_("allocation"))
    def allocation(self, order: Order) -> str:
        return order_allocation_table(order) if order.pk else ""

    def get_urls(self):
        return order_action_urls(self) + admin_shipping.order_urls(self) + super().get_urls()

    def get_changelist(self, request, **kwargs):
        return AllocatedRankChangeList

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
            extra["order_actions"] = self.order_actions(request, order)
            if admin_shipping.can_ship(request) and held_units(order)["unshipped"]:
                extra["ship_url"] = reverse("admin:orders_order_ship_one", args=[order.pk],
                                            current_app=self.admin_site.name)
            if held_units(order)["shipped"]:
                extra["shipped_note"] = gettext(
                    "%(units)s of these units have shipped: they are never released, and the order can no longer "
                    "be cancelled.") % {"units": held_units(order)["shipped"]}
        return super().changeform_view(request, object_id, form_url, extra)


    def order_actions(self, request, order: Order) -> list[dict]:
        """Return the buttons of the order's page that open an action's page for this one order (allocate with
        its preview, cancel with its confirmation), each where it can do something."""
        if not admin_views.can_run_allocation(request):
            return []
        url = reverse("admin:orders_order_changelist", current_app=self.admin_site.name)
        buttons = []
        if order.status in ALLOCATABLE_STATUSES:
            buttons.append({"url": url, "action": "allocate_orders", "label": gettext("Allocate…"), "id": "allocate"})
        if order.status not in (OrderStatus.CANCELLED, *SHIPPED_STATUSES):
            buttons.append({"url": url, "action": "cancel_orders", "label": gettext("Cancel order…"), "id": "cancel"})
        return buttons


PICKS_SHOWN = 500  # picks listed on an order's page (an order has at most ORDER_MAX_LINES lines)


def order_allocation_table(order: Order) -> str:
    """The order's lines with what is ordered, allocated, shipped and short, each line's active picks (lot, unit
    cost, amount) and the order's allocated total: three queries whatever the order's size."""
    lines = list(order.lines.select_related("item").order_by("id"))
    picks = list(AllocationResult.objects.active().filter(order=order).select_related("lot").order_by(
        "order_line_id", "id")[:PICKS_SHOWN + 1])
    by_line: dict[int, list[AllocationResult]] = {}
    for pick in picks[:PICKS_SHOWN]:
        by_line.setdefault(pick.order_line_id, []).append(pick)
    rows, total_quantity, total_amount = [], 0, Decimal("0")
    for line in lines:
        held = by_line.get(line.pk, [])
        allocated = sum(p.allocated_quantity for p in held)
        shipped = sum(p.shipped_quantity for p in held)
        cost = sum((p.allocated_price for p in held), Decimal("0"))
        total_quantity, total_amount = total_quantity + allocated, total_amount + cost
        rows.append(format_html(
            '<tr class="line"><th scope="row">{} {}</th><td>{}</td><td>{}</td><td>{}</td><td class="{}">{}</td>'
            "<td>{}</td></tr>{}",
            line.item.item_code, line.item.name, number(line.quantity), number(allocated), number(shipped),
            "short" if line.quantity > allocated else "", number(max(line.quantity - allocated, 0)),
            money(cost) if held else "",
            format_html_join("", '<tr class="pick"><td>↳ <a href="{}">{}</a></td><td></td><td>{}</td><td>{}</td>'
                                 "<td></td><td>{} × {} = {}</td></tr>", (
                (reverse("admin:stock_lot_change", args=[p.lot_id]), p.lot.reference, number(p.allocated_quantity),
                 number(p.shipped_quantity), number(p.allocated_quantity), unit_cost(p.unit_cost),
                 money(p.allocated_price)) for p in held)),
        ))
    more = (format_html('<p class="help">{}</p>', gettext("Only the first %(count)s picks are listed.") % {
        "count": PICKS_SHOWN}) if len(picks) > PICKS_SHOWN else "")
    heads = (gettext("Line"), gettext("ordered"), gettext("allocated"), gettext("shipped"), gettext("short"),
             gettext("cost"))
    return format_html(
        '<table class="order-allocation" id="order-allocation"><thead><tr>{}</tr></thead><tbody>{}</tbody>'
        '<tfoot><tr><th scope="row">{}</th><td></td><td>{}</td><td></td><td></td><td>{}</td></tr></tfoot></table>{}',
        format_html_join("", "<th>{}</th>", ((h,) for h in heads)), format_html_join("", "{}", ((r,) for r in rows)),
        gettext("Allocated cost"), number(total_quantity), money(total_amount), more)


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
    # On hand after available (shipped is quantity less on hand: on the lot's page and in the export, not a column,
    # so that the dates still show at 1,366 px).
    list_display = (*LotAdmin.list_display[:LotAdmin.list_display.index("available") + 1], "on_hand",
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


class ScoredCustomerAdmin(CustomerAdmin):
    """Customers with their score (policy `customer_score`) as a column and, on a customer's page, its parts."""

    list_display = (*CustomerAdmin.list_display, "score")
    readonly_fields = (*CustomerAdmin.readonly_fields, "score_parts")
    # The score sums each listed customer's open lines against the stock (scores.open_coverage): 25 customers a
    # page keep the list within 300 ms at 100,000 orders on SQLite (50: 324 ms, 25: 179 ms, bench/admin_pages.py).
    list_per_page = 25

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        metrics = customer_metrics([customer.pk for customer in changelist.result_list])  # one page, fixed queries
        for customer in changelist.result_list:
            customer.metrics = metrics.get(customer.pk)
        return changelist

    @admin.display(description=_("score"))
    def score(self, customer: Customer) -> str:
        metrics = getattr(customer, "metrics", None)
        return f"{metrics.score:.1f}" if metrics else "–"

    @admin.display(description=_("score"))
    def score_parts(self, customer: Customer) -> str:
        if not customer.pk:
            return ""
        metrics = customer_metrics([customer.pk])[customer.pk]
        weights = settings.ALLOCATION_SCORE_WEIGHTS
        parts = ((gettext("performance"), metrics.performance, weights["performance"]),
                 (gettext("payment frequency"), metrics.payment_frequency, weights["payment_frequency"]),
                 (gettext("credit adherence"), metrics.credit_adherence, weights["credit_adherence"]),
                 (gettext("stock availability"), metrics.stock_availability, weights["stock_availability"]))
        return format_html(
            '<table class="customer-score" id="customer-score"><tbody>{}</tbody><tfoot><tr><th scope="row">{}</th>'
            "<td>{}</td><td></td></tr></tfoot></table><p class=\"help\">{}</p>",
            format_html_join("", '<tr><th scope="row">{}</th><td>{}</td><td>× {}</td></tr>',
                             ((label, f"{value:.2f}", f"{weight:g}") for label, value, weight in parts)),
            gettext("score"), f"{metrics.score:.1f}",
            gettext("What the customer_score policy ranks orders by: each part from 0 to 1, times its weight "
                    "(ALLOCATION_SCORE_WEIGHTS); the score is their sum, out of 100."))


def extend(site: admin.AdminSite) -> None:
    """Register the allocation app's versions of the customer, order and lot admins on `site`."""
    for model, model_admin in ((Customer, ScoredCustomerAdmin), (Order, AllocationOrderAdmin), (Lot, AllocationLotAdmin)):
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
