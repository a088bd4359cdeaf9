from django.contrib import admin
from django.core.paginator import Paginator
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin
from rest_framework_simplejwt.token_blacklist import admin as token_admin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from unfold.admin import ModelAdmin as UnfoldModelAdmin

from allocation import admin_periods, admin_shipping, admin_stock_orders, admin_views
from allocation.explanations import explain_results
from allocation.models import SHORT_STATUSES, AllocationResult, AllocationRun, ClosedPeriod, RunOutcome, RunStatus
from allocation.requests import allocation_runs_expire
from allocation.resources import AllocationResultResource, AllocationRunResource
from inventory_alloc.admin_base import (
    EXPORT_FORMATS,
    BusinessDateExport,
    field_column,
    money_column,
    short_choice_column,
)
from inventory_alloc.display import unit_cost

RUN_PAGE_ROWS = 100  # outcomes and results per page on a run's page


class ReadOnlyAdmin(UnfoldModelAdmin):
    """Runs, results and closed periods are written by the services only."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ExportPermission(BusinessDateExport):
    export_formats = EXPORT_FORMATS

    def has_export_permission(self, request) -> bool:
        return self.has_view_permission(request)


@admin.register(AllocationRun)
class AllocationRunAdmin(ExportPermission, ExportMixin, ReadOnlyAdmin):
    """A run's page shows its parameters, who ran it, its outcome per order and its results (paged)."""

    resource_classes = [AllocationRunResource]
    change_form_template = "admin/allocation/allocationrun/change_form.html"
    # Short headings and codes, so that every column shows at 1,366 px beside the navigation and the filter.
    list_display = (
        "id", "method_code", "policy_short", "as_of", "status", "started_by", "started_at", "considered", "full",
        "partly", "not_allocated", "units", "allocated_amount_shown",
    )
    allocated_amount_shown = money_column("allocated_amount", _("amount"))
    method_code = field_column("method", _("method"))  # the code: "FIFO"
    policy_short = short_choice_column("policy", _("policy"))
    considered = field_column("orders_considered", _("orders"))
    full = field_column("orders_fully_allocated", _("full"))
    partly = field_column("orders_partly_allocated", _("partly"))
    not_allocated = field_column("orders_not_allocated", _("not allocated"))
    units = field_column("allocated_quantity", _("units"))
    list_filter = ("method", "policy", "status", "as_of")
    search_fields = ("id", "started_by__username")
    date_hierarchy = "started_at"
    list_select_related = ("started_by",)
    fieldsets = (
        (_("Parameters"), {"fields": ("method", "policy", "as_of", "allow_partial", "allow_inbound", "dry_run",
                                      "orders_requested")}),
        (_("Who and when"), {"fields": ("started_by", "started_at", "finished_at", "status", "error")}),
        (_("Outcome"), {"fields": ("orders_considered", "orders_fully_allocated", "orders_partly_allocated",
                                   "orders_not_allocated", "allocated_quantity", "allocated_amount")}),
    )
    readonly_fields = ("orders_requested",)

    def get_queryset(self, request):
        # The ids asked for may be 200,000 of them: nothing on these pages reads them.
        return super().get_queryset(request).defer("requested_orders")

    @admin.display(description=_("orders requested"))
    def orders_requested(self, run: AllocationRun) -> str:
        return _("all open orders") if run.requested_count is None else str(run.requested_count)

    def get_urls(self):
        retry = self.admin_site.admin_view(lambda request, object_id: admin_views.run_retry_view(self, request, object_id))
        return [path("<path:object_id>/retry/", retry, name="allocation_allocationrun_retry"),
                *admin_shipping.run_urls(self)] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        allocation_runs_expire()  # a run whose process died shows as failed, not running forever
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        allocation_runs_expire()
        extra = dict(extra_context or {})
        run = AllocationRun.objects.filter(pk=object_id).only("id", "status").first()
        if run is not None:
            short_only = request.GET.get("short") == "1"
            outcomes = RunOutcome.objects.filter(run=run).order_by("id")
            if short_only:
                outcomes = outcomes.filter(status__in=SHORT_STATUSES)
            results = run.results.select_related("order", "item", "lot").order_by("id")
            results_page = Paginator(results, RUN_PAGE_ROWS).get_page(request.GET.get("results"))
            results_page.object_list = explain_results(list(results_page.object_list))
            extra.update(
                outcomes_page=Paginator(outcomes, RUN_PAGE_ROWS).get_page(request.GET.get("outcomes")),
                results_page=results_page,
                short_only=short_only,
                can_retry=run.status == RunStatus.FAILED and admin_views.can_run_allocation(request),
                pick_list_url=reverse("admin:allocation_allocationrun_pick_list", args=[run.pk],
                                      current_app=self.admin_site.name),
            )
        return super().change_view(request, object_id, form_url, extra)


@admin.register(AllocationResult)
class AllocationResultAdmin(ExportPermission, ExportMixin, ReadOnlyAdmin):
    resource_classes = [AllocationResultResource]
    # The run's label carries its method; the method stays a filter.
    list_display = (
        "id", "run", "order", "item", "lot", "quantity", "unit_cost_shown", "allocated_price_shown",
        "allocation_date", "cost_final", "released_at",
    )
    quantity = field_column("allocated_quantity", _("quantity"))
    unit_cost_shown = money_column("unit_cost", _("unit cost"), unit_cost)
    allocated_price_shown = money_column("allocated_price", _("amount"))
    list_filter = ("method", "cost_final", "allocation_date", ("released_at", admin.EmptyFieldListFilter))
    search_fields = ("order__order_number", "item__item_code", "lot__reference")
    list_select_related = ("run", "order", "item", "lot")
    autocomplete_fields = ("order", "item", "lot")
    readonly_fields = ("explanation",)
    # No date_hierarchy: its links are a DISTINCT over every result's date; the date filter costs nothing.

    @admin.display(description=_("why this pick"))
    def explanation(self, result: AllocationResult) -> str:
        return explain_results([result])[0].explanation

    def get_queryset(self, request):
        return super().get_queryset(request).defer("run__requested_orders")


@admin.register(ClosedPeriod)
class ClosedPeriodAdmin(ReadOnlyAdmin):
    change_list_template = "admin/allocation/closedperiod/change_list.html"
    list_display = ("start", "end", "closed_at", "closed_by", "results_recosted")
    date_hierarchy = "start"
    list_select_related = ("closed_by",)

    def get_urls(self):
        view = self.admin_site.admin_view(lambda request: admin_periods.period_close_view(self, request))
        return [path("close/", view, name="allocation_closedperiod_close")] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra = {"can_close_period": admin_views.can_run_allocation(request), **(extra_context or {})}
        return super().changelist_view(request, extra)


admin_stock_orders.extend(admin.site)
from allocation import admin_events  # noqa: E402,F401  (registers the events and webhooks pages)


class BlacklistedTokenAdmin(token_admin.BlacklistedTokenAdmin):
    """simplejwt's blacklist page, whose token is picked by id: its select would list every token ever issued,
    reading each one's user (a query per token)."""

    raw_id_fields = ("token",)


admin.site.unregister(BlacklistedToken)
admin.site.register(BlacklistedToken, BlacklistedTokenAdmin)
