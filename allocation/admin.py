from django.contrib import admin

from allocation.models import AllocationResult, AllocationRun, ClosedPeriod


class ReadOnlyAdmin(admin.ModelAdmin):
    """Runs, results and closed periods are written by the services only."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AllocationRun)
class AllocationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id", "method", "policy", "as_of", "status", "started_by", "started_at", "orders_considered",
        "orders_fully_allocated", "orders_partly_allocated", "orders_not_allocated", "allocated_quantity",
        "allocated_amount",
    )
    list_filter = ("method", "policy", "status", "as_of")
    search_fields = ("id", "started_by__username")
    date_hierarchy = "started_at"
    list_select_related = ("started_by",)


@admin.register(AllocationResult)
class AllocationResultAdmin(ReadOnlyAdmin):
    list_display = (
        "id", "run", "order", "item", "lot", "allocated_quantity", "unit_cost", "allocated_price",
        "allocation_date", "method", "cost_final", "released_at",
    )
    list_filter = ("method", "cost_final", "allocation_date", ("released_at", admin.EmptyFieldListFilter))
    search_fields = ("order__order_number", "item__item_code", "lot__reference")
    date_hierarchy = "allocation_date"
    list_select_related = ("run", "order", "item", "lot")
    autocomplete_fields = ("order", "item", "lot")


@admin.register(ClosedPeriod)
class ClosedPeriodAdmin(ReadOnlyAdmin):
    list_display = ("start", "end", "closed_at", "closed_by", "results_recosted")
    date_hierarchy = "start"
    list_select_related = ("closed_by",)
