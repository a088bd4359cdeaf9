"""Admin pages of shipping and pick lists: the "Ship selected orders" action, the Ship button on an order's
page, and the printable pick list of a run or of an order.

Shipping needs `allocation.ship_order` (the action is hidden without it, the pages answer 403) and goes
through `allocation.shipping.order_ship`, one order at a time: each order ships whole or not at all, and
the messages say which orders shipped and, in the service's words, why the others did not. A pick list
needs the right to view the run or the order; it is paged (PICK_LIST_PAGE_ROWS rows a page), grouped
by lot with what the whole list takes from each lot, and prints on A4 without the admin around it.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from allocation import admin_views
from allocation.picklists import by_lot, lot_totals, named, pick_list
from allocation.shipping import order_ship
from inventory_alloc.errors import DomainError
from orders.models import Order, OrderStatus

SHIP_PERMISSION = "allocation.ship_order"
SHIP_AT_ONCE = 100  # orders one "Ship selected orders" may ship: each is its own transaction
NAMED = 20  # orders named in one message
PICK_LIST_PAGE_ROWS = 250  # about six A4 sheets; the page of a 123,783-pick run stays within 300 ms on SQLite


def can_ship(request: HttpRequest) -> bool:
    return request.user.has_perm(SHIP_PERMISSION)


class ShipOrderPermission:
    """Gives a ModelAdmin the `ship_order` permission check used by `@admin.action`."""

    def has_ship_order_permission(self, request) -> bool:
        return can_ship(request)


@admin.action(description=gettext_lazy("Ship selected orders"), permissions=["ship_order"])
def ship_orders(modeladmin, request, queryset):
    return admin_views.order_page(
        modeladmin, request, queryset, admin_views.selection_of(request), "admin/orders/order/confirm_action.html",
        _("Ship orders"), confirm_url="admin:orders_order_ship", confirm_label=_("Yes, ship"),
        question=_("Ship everything allocated and not shipped yet of these orders? Shipped goods leave the warehouse: "
                   "they can no longer be released, and their orders can no longer be cancelled."))


def ship_view(model_admin, request: HttpRequest) -> HttpResponse:
    """Ship everything allocated of each posted order (each whole or not at all); say which shipped, which not."""
    if not can_ship(request):
        raise PermissionDenied
    if request.method == "POST" and "confirm" in request.POST:
        queryset, _selection = admin_views.posted_selection(model_admin, request)
        ids = sorted(admin_views.selected_ids(queryset))
        if not ids:
            return admin_views.nothing_selected(model_admin, request)
        if len(ids) > SHIP_AT_ONCE:
            model_admin.message_user(request, _("Ship at most %(most)s orders at a time; %(count)s are selected. "
                                                "Nothing was shipped.") % {"most": SHIP_AT_ONCE, "count": len(ids)},
                                     messages.ERROR)
        else:
            _ship_each(model_admin, request, ids)
    return HttpResponseRedirect(admin_views.changelist_url(model_admin, request))


def _ship_each(model_admin, request: HttpRequest, ids: list[int]) -> None:
    numbers = dict(Order.objects.filter(id__in=ids).values_list("id", "order_number"))
    shipped, refused = [], []
    for order_id in ids:
        try:
            report = order_ship(order=order_id, user=request.user)
        except DomainError as error:
            refused.append(error.message)
        else:
            shipped.append(_("%(number)s (%(quantity)s units)") % {"number": numbers.get(order_id, order_id),
                                                                   "quantity": report.quantity})
    if shipped:
        model_admin.message_user(request, _("Shipped %(count)s orders: %(orders)s.") % {
            "count": len(shipped), "orders": _named(shipped)}, messages.SUCCESS)
    if refused:
        model_admin.message_user(request, _("Not shipped (%(count)s): %(reasons)s") % {
            "count": len(refused), "reasons": " ".join(refused[:NAMED])}, messages.ERROR)


def _named(items: list[str]) -> str:
    more = _(" and %(count)s more") % {"count": len(items) - NAMED} if len(items) > NAMED else ""
    return ", ".join(items[:NAMED]) + more


def ship_order_view(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Ship everything allocated of one order (the Ship button on its page), then show the page again."""
    if not can_ship(request):
        raise PermissionDenied
    url = reverse("admin:orders_order_change", args=[object_id], current_app=model_admin.admin_site.name)
    if request.method != "POST":
        return HttpResponseRedirect(url)
    order = model_admin.get_object(request, unquote(object_id))
    if order is None:
        model_admin.message_user(request, _("No such order."), messages.ERROR)
        return HttpResponseRedirect(admin_views.changelist_url(model_admin, request))
    try:
        report = order_ship(order=order.pk, user=request.user)
    except DomainError as error:
        model_admin.message_user(request, admin_views.domain_error_message(error), messages.ERROR)
    else:
        model_admin.message_user(request, _(
            "Shipped %(quantity)s units of order %(number)s (shipment #%(shipment)s); it is now %(status)s.") % {
            "quantity": report.quantity, "number": order.order_number, "shipment": report.shipment.pk,
            "status": OrderStatus(report.status).label.lower()}, messages.SUCCESS)
    return HttpResponseRedirect(url)


def order_urls(model_admin) -> list:
    """Return the URLs of the order admin's shipping pages and its pick list."""
    wrap = model_admin.admin_site.admin_view
    return [
        path("ship/", wrap(lambda request: ship_view(model_admin, request)), name="orders_order_ship"),
        path("<path:object_id>/ship/", wrap(lambda request, object_id: ship_order_view(model_admin, request, object_id)),
             name="orders_order_ship_one"),
        path("<path:object_id>/pick-list/", wrap(lambda request, object_id: pick_list_view(
            model_admin, request, object_id, scope="order")), name="orders_order_pick_list"),
    ]


def run_urls(model_admin) -> list:
    """Return the URL of a run's pick list."""
    view = model_admin.admin_site.admin_view(
        lambda request, object_id: pick_list_view(model_admin, request, object_id, scope="run"))
    return [path("<path:object_id>/pick-list/", view, name="allocation_allocationrun_pick_list")]


# --- the printable pick list ---------------------------------------------------------------------

def pick_list_view(model_admin, request: HttpRequest, object_id: str, *, scope: str) -> HttpResponse:
    """Show one page of the pick list of a run or an order (`scope`), grouped by lot, ready to print."""
    target = model_admin.get_object(request, unquote(object_id))
    if target is None:
        raise Http404(_("No such %(name)s.") % {"name": model_admin.model._meta.verbose_name})
    if not model_admin.has_view_permission(request, target):
        raise PermissionDenied
    owner = {scope: target.pk}
    page = Paginator(pick_list(**owner), PICK_LIST_PAGE_ROWS).get_page(request.GET.get("page"))
    rows = named(page)
    opts = model_admin.model._meta
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/allocation/pick_list.html", {
        **model_admin.admin_site.each_context(request),
        "title": _pick_list_title(scope, target), "opts": opts, "original": target, "page": page,
        "groups": by_lot(rows, lot_totals({row["lot_id"] for row in rows}, **owner)),
        "page_quantity": sum(row["quantity"] for row in rows), "printed_at": timezone.localtime(),
        "object_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[target.pk],
                              current_app=model_admin.admin_site.name),
        "csv_url": reverse("order-pick-list" if scope == "order" else "allocationrun-pick-list", args=[target.pk])
        + f"?format=csv&page_size={PICK_LIST_PAGE_ROWS}&page={page.number}",
    })


def _pick_list_title(scope: str, target) -> str:
    if scope == "order":
        return _("Pick list of order %(number)s") % {"number": target.order_number}
    return _("Pick list of allocation run #%(id)s") % {"id": target.pk}
