"""Admin pages of the allocation actions: allocate, release, cancel and close a period.

Each page validates its form, calls one service and shapes the answer; a
domain error (a closed period, a date in the future, ...) becomes an admin
error message on the page, never a 500. Every page needs the
`allocation.run_allocation` permission (403 without it).
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from allocation.comparison import Comparison, methods_compare
from allocation.domain import InsufficientStock
from allocation.explanations import dry_run_results
from allocation.forms import AllocateForm
from allocation.models import AllocationRun, OutcomeStatus, RunStatus
from allocation.requests import allocation_request, allocation_run_retry
from allocation.services import allocation_release, order_cancel
from inventory_alloc.display import money, number
from inventory_alloc.errors import DomainError
from orders.models import Order, OrderStatus

RUN_PERMISSION = "allocation.run_allocation"
ORDERS_SHOWN = 100  # selected orders listed on a page
PICKS_SHOWN = 500  # preview rows; the rest are counted, not listed
OUTCOMES_SHOWN = 300


OUTCOME_LABELS = dict(OutcomeStatus.choices)


def can_run_allocation(request: HttpRequest) -> bool:
    return request.user.has_perm(RUN_PERMISSION)


def require_run_permission(request: HttpRequest) -> None:
    if not can_run_allocation(request):
        raise PermissionDenied


# --- The selection ------------------------------------------------------------

def posted_selection(model_admin, request: HttpRequest) -> tuple[QuerySet, dict]:
    """Return the orders a page was posted for, and what to post again to keep them.

    With "select all N" (`select_across`) the queryset is the changelist's,
    rebuilt from the filters kept in the page's query string.
    """
    selection = selection_of(request)
    if selection["select_across"]:
        try:
            queryset = model_admin.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:  # a filter that no longer applies: select nothing rather than fail
            queryset = model_admin.get_queryset(request).none()
    else:
        queryset = model_admin.get_queryset(request).filter(pk__in=[i for i in selection["ids"] if i.isdigit()])
    return queryset, selection


def selection_of(request: HttpRequest) -> dict:
    """Return the posted ids and "select all" flag, to post again from the next page."""
    across = request.POST.get("select_across") in ("1", "True", "true", "on")
    return {"ids": request.POST.getlist(ACTION_CHECKBOX_NAME), "select_across": across}


def selected_ids(queryset: QuerySet) -> list[int]:
    return list(queryset.order_by().values_list("pk", flat=True))


def nothing_selected(model_admin, request: HttpRequest) -> HttpResponse:
    model_admin.message_user(request, _("No orders are selected; nothing was changed."), messages.WARNING)
    return HttpResponseRedirect(changelist_url(model_admin, request))


def changelist_url(model_admin, request: HttpRequest) -> str:
    opts = model_admin.model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist", current_app=model_admin.admin_site.name)
    return f"{url}?{request.GET.urlencode()}" if request.GET else url


def order_page(model_admin, request: HttpRequest, queryset: QuerySet, selection: dict, template: str,
               title: str, **context) -> TemplateResponse:
    """Render an action page that lists the selected orders (the first ORDERS_SHOWN of them)."""
    total = queryset.count()
    shown = list(queryset.select_related("customer")[:ORDERS_SHOWN])
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, template, {
        **model_admin.admin_site.each_context(request),
        "title": title, "opts": model_admin.model._meta, "orders": shown, "order_count": total,
        "orders_not_shown": total - len(shown), "selection": selection, "query_string": request.GET.urlencode(),
        "action_checkbox_name": ACTION_CHECKBOX_NAME, **context,
    })


# --- Allocate -----------------------------------------------------------------

def run_summary(run: AllocationRun) -> str:
    return _(
        "%(considered)s orders considered: %(full)s fully allocated, %(partial)s partly, %(none)s not allocated; "
        "%(quantity)s units for %(amount)s."
    ) % {
        "considered": run.orders_considered, "full": run.orders_fully_allocated, "partial": run.orders_partly_allocated,
        "none": run.orders_not_allocated, "quantity": number(run.allocated_quantity), "amount": money(run.allocated_amount),
    }


def preview_context(report) -> dict:
    """Shape a dry run for the page: picks with lot and cost, totals and shortfalls per order."""
    results = dry_run_results(report.run, report.picks[:PICKS_SHOWN], report.outcome_rows)
    outcomes = [
        {**o, "status_label": OUTCOME_LABELS.get(o["status"], o["status"])} for o in report.outcomes_head(OUTCOMES_SHOWN)
    ]
    return {
        "summary": run_summary(report.run),
        "picks": [
            {"order": r.order.order_number, "item": r.item.item_code, "lot": r.lot.reference, "quantity": r.allocated_quantity,
             "unit_cost": r.unit_cost, "amount": r.allocated_price, "cost_final": r.cost_final, "why": r.explanation}
            for r in results
        ],
        "picks_not_shown": len(report.picks) - len(results),
        "outcomes": outcomes,
        "outcomes_not_shown": len(report.outcome_rows) - len(outcomes),
        "shortfall_count": sum(row[6] for row in report.outcome_rows),
    }


def domain_error_message(error: DomainError) -> str:
    """Return a refusal in a clerk's words: order numbers, item codes and quantities, never an internal id."""
    if isinstance(error, InsufficientStock):
        number = Order.objects.filter(pk=error.data.get("order")).values_list("order_number", flat=True).first()
        shorts = "; ".join(_("%(item)s short %(short)s of %(requested)s") % {
            "item": error.item_codes.get(s.item_id, "?"), "short": s.short, "requested": s.requested}
            for s in error.shortfalls)
        return _("Refused: order %(order)s cannot be filled in full (%(shorts)s); nothing was allocated.") % {
            "order": number or "?", "shorts": shorts}
    return _("Refused: %(reason)s") % {"reason": error.message}


def allocate_page(model_admin, request, queryset, selection, form, preview=None, compare=None) -> TemplateResponse:
    return order_page(model_admin, request, queryset, selection, "admin/orders/order/allocate.html",
                      _("Allocate selected orders"), form=form, preview=preview, compare=compare)


def allocate_view(model_admin, request: HttpRequest) -> HttpResponse:
    """Preview (a dry run) or allocate the posted orders with the posted parameters."""
    require_run_permission(request)
    if request.method != "POST":
        return HttpResponseRedirect(changelist_url(model_admin, request))
    queryset, selection = posted_selection(model_admin, request)
    form = AllocateForm(request.POST)
    preview = None
    if form.is_valid():
        ids = selected_ids(queryset)
        if not ids:
            return nothing_selected(model_admin, request)
        commit = "allocate" in request.POST
        try:  # a big run is queued (on Lambda, an asynchronous task): the message links to it
            if "compare" in request.POST:
                comparison = methods_compare(form.run_request(ids, dry_run=False), user=request.user)
                return allocate_page(model_admin, request, queryset, selection, form, compare=compare_context(comparison))
            ticket = allocation_request(form.run_request(ids, dry_run=not commit), user=request.user)
        except DomainError as error:
            model_admin.message_user(request, domain_error_message(error), messages.ERROR)
        else:
            if commit:
                return run_done(model_admin, request, ticket.run)
            preview = preview_context(ticket.report)
    return allocate_page(model_admin, request, queryset, selection, form, preview)


def compare_context(comparison: Comparison) -> dict:
    """Shape a comparison of the methods for the page: totals per method, then the first orders' amounts."""
    return {"methods": comparison.method_rows(), "names": [f.method for f in comparison.figures],
            "orders": comparison.order_rows(0, OUTCOMES_SHOWN),
            "orders_not_shown": max(len(comparison.numbers) - OUTCOMES_SHOWN, 0), "as_of": comparison.request.as_of}


def run_done(model_admin, request: HttpRequest, run: AllocationRun, then: str | None = None) -> HttpResponse:
    """Say what a run did (or that a big one was queued, see allocation.tasks), link to its page, go on to `then`
    (default: back to the list)."""
    url = reverse("admin:allocation_allocationrun_change", args=[run.pk])
    if run.status == RunStatus.DONE:
        text, link = _("Allocation run #%(id)s done. ") % {"id": run.pk} + run_summary(run), _("Open the run")
    else:
        text = _("Allocation run #%(id)s started in the background; it is %(status)s. ") % {
            "id": run.pk, "status": run.get_status_display()}
        link = _("Follow the run")
    level = messages.ERROR if run.status == RunStatus.FAILED else messages.SUCCESS
    model_admin.message_user(request, format_html('{} <a href="{}">{}</a>', text, url, link), level)
    return HttpResponseRedirect(then or changelist_url(model_admin, request))


def run_retry_view(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Start a new run with the parameters of a failed one (the Retry button on the run's page)."""
    require_run_permission(request)
    url = reverse("admin:allocation_allocationrun_change", args=[object_id], current_app=model_admin.admin_site.name)
    if request.method != "POST":
        return HttpResponseRedirect(url)
    try:
        run = allocation_run_retry(run=object_id, user=request.user).run
    except DomainError as error:
        model_admin.message_user(request, domain_error_message(error), messages.ERROR)
        return HttpResponseRedirect(url)
    return run_done(model_admin, request, run, reverse(
        "admin:allocation_allocationrun_change", args=[run.pk], current_app=model_admin.admin_site.name))


# --- Release and cancel ---------------------------------------------------------

def release_page(model_admin, request, queryset, selection) -> TemplateResponse:
    return order_page(model_admin, request, queryset, selection, "admin/orders/order/confirm_action.html",
                      _("Release allocations"), confirm_url="admin:orders_order_release",
                      question=_("Release every active allocation of these orders? Their quantities go back to the lots."),
                      confirm_label=_("Yes, release"))


def cancel_page(model_admin, request, queryset, selection) -> TemplateResponse:
    return order_page(model_admin, request, queryset, selection, "admin/orders/order/confirm_action.html",
                      _("Cancel orders"), confirm_url="admin:orders_order_cancel",
                      question=_("Cancel these orders? Their allocations are released first. This cannot be undone."),
                      confirm_label=_("Yes, cancel the orders"))


def release_view(model_admin, request: HttpRequest) -> HttpResponse:
    """Release the active allocations of the posted orders."""
    require_run_permission(request)
    if request.method == "POST" and "confirm" in request.POST:
        queryset, _selection = posted_selection(model_admin, request)
        if not (ids := selected_ids(queryset)):
            return nothing_selected(model_admin, request)
        try:
            report = allocation_release(orders=ids, user=request.user)
        except DomainError as error:
            model_admin.message_user(request, domain_error_message(error), messages.ERROR)
        else:
            model_admin.message_user(request, _("Released %(count)s allocation results (%(quantity)s units).") % {
                "count": report.released, "quantity": report.quantity}, messages.SUCCESS)
    return HttpResponseRedirect(changelist_url(model_admin, request))


def release_order_view(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Release every active allocation of one order (the button on the order's page), then show it again."""
    require_run_permission(request)
    url = reverse("admin:orders_order_change", args=[object_id], current_app=model_admin.admin_site.name)
    if request.method != "POST":
        return HttpResponseRedirect(url)
    order = model_admin.get_object(request, object_id)
    if order is None:
        model_admin.message_user(request, _("No such order."), messages.ERROR)
        return HttpResponseRedirect(changelist_url(model_admin, request))
    try:
        report = allocation_release(order=order.pk, user=request.user)
    except DomainError as error:
        model_admin.message_user(request, domain_error_message(error), messages.ERROR)
    else:
        model_admin.message_user(request, _("Released %(count)s allocation results (%(quantity)s units).") % {
            "count": report.released, "quantity": report.quantity}, messages.SUCCESS)
    return HttpResponseRedirect(url)


def cancel_view(model_admin, request: HttpRequest) -> HttpResponse:
    """Cancel the posted orders that are not cancelled yet, all or nothing."""
    require_run_permission(request)
    if request.method == "POST" and "confirm" in request.POST:
        queryset, _selection = posted_selection(model_admin, request)
        ids = list(queryset.exclude(status=OrderStatus.CANCELLED).order_by("pk").values_list("pk", flat=True))
        if not ids:
            return nothing_selected(model_admin, request)
        try:
            report = order_cancel(orders=ids, user=request.user)
            released, quantity = report.released, report.quantity
        except DomainError as error:
            model_admin.message_user(request, domain_error_message(error), messages.ERROR)
        else:
            model_admin.message_user(request, _(
                "Cancelled %(count)s orders; released %(released)s allocation results (%(quantity)s units)."
            ) % {"count": len(ids), "released": released, "quantity": quantity}, messages.SUCCESS)
    return HttpResponseRedirect(changelist_url(model_admin, request))
