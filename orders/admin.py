from django.contrib import admin
from django.db.models import OuterRef, Subquery, Sum
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin, ImportMixin

from allocation.admin_actions import ORDER_ACTIONS, RunAllocationPermission, order_action_urls
from allocation.resources import CustomerResource, OrderLineResource
from orders.models import Customer, Order, OrderLine, Payment
from stock.admin import ImportExportPermissions


@admin.register(Customer)
class CustomerAdmin(ImportExportPermissions, ImportExportModelAdmin):
    resource_classes = [CustomerResource]
    list_display = ("code", "name", "email", "phone", "credit_limit", "credit_period_days", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name", "email")


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 1
    autocomplete_fields = ("item", "lot")


@admin.register(Order)
class OrderAdmin(RunAllocationPermission, ImportExportPermissions, ImportMixin, admin.ModelAdmin):
    """Orders, with the allocation actions and the CSV/Excel import of orders (one row per line)."""

    resource_classes = [OrderLineResource]
    actions = ORDER_ACTIONS
    list_display = ("order_number", "customer", "order_date", "priority", "status", "ordered", "allocated")
    list_filter = ("status", "order_date")
    search_fields = ("order_number", "customer__code", "customer__name")
    date_hierarchy = "order_date"
    autocomplete_fields = ("customer",)
    list_select_related = ("customer",)
    readonly_fields = ("status", "created_at", "updated_at")
    inlines = [OrderLineInline]

    def get_urls(self):
        return order_action_urls(self) + super().get_urls()

    def get_queryset(self, request):
        from allocation.models import AllocationResult

        allocated = (
            AllocationResult.objects.active().filter(order_id=OuterRef("pk")).order_by()
            .values("order_id").annotate(q=Sum("allocated_quantity")).values("q")
        )
        ordered = OrderLine.objects.filter(order_id=OuterRef("pk")).order_by().values("order_id").annotate(
            q=Sum("quantity")
        ).values("q")
        return super().get_queryset(request).annotate(
            ordered_quantity=Subquery(ordered), allocated_quantity=Subquery(allocated),
        )

    @admin.display(description=_("ordered"), ordering="ordered_quantity")
    def ordered(self, order: Order) -> int:
        return order.ordered_quantity or 0

    @admin.display(description=_("allocated"), ordering="allocated_quantity")
    def allocated(self, order: Order) -> int:
        return order.allocated_quantity or 0


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("customer", "amount", "due_date", "paid_on", "status")
    list_filter = ("status", "due_date")
    search_fields = ("customer__code", "customer__name")
    date_hierarchy = "due_date"
    autocomplete_fields = ("customer",)
    list_select_related = ("customer",)


