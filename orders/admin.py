from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import Exists, OuterRef, Q, Subquery, Sum
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin, ImportExportMixin, ImportExportModelAdmin
from unfold.admin import TabularInline as UnfoldTabularInline

from inventory_alloc.admin_base import ServiceModelAdmin, copy_saved, delete_selected, money_column
from inventory_alloc.admin_filters import InputFilter
from inventory_alloc.display import money
from orders.models import Customer, Order, OrderLine, Payment
from orders.resources import CustomerResource, OrderLineResource, PaymentResource
from orders.selectors import order_total
from orders.services import CUSTOMER_WRITES, ORDER_WRITES, PAYMENT_WRITES, order_lock
from stock.admin import ImportExportPermissions


@admin.register(Customer)
class CustomerAdmin(ImportExportPermissions, ImportExportModelAdmin, ServiceModelAdmin):
    writes = CUSTOMER_WRITES
    resource_classes = [CustomerResource]
    list_display = ("code", "name", "email", "phone", "credit_limit_shown", "credit_period_days", "is_active")
    credit_limit_shown = money_column("credit_limit", _("credit limit"))
    list_filter = ("is_active",)
    search_fields = ("code", "name", "email")


def lock_of(order: Order | None) -> str | None:
    """Return why another app holds the order (e.g. it holds allocations), or None; asked once per object."""
    if order is None or not order.pk:
        return None
    if not hasattr(order, "_lock"):
        order._lock = order_lock(order)
    return order._lock


class KnownAutocompleteSelect(AutocompleteSelect):
    """An autocomplete whose chosen object is labelled from `known` (read once for all lines) when it is there,
    instead of one query per line's widget."""

    known: dict[str, object] = {}

    def optgroups(self, name, value, attr=None):
        chosen = [str(v) for v in value if str(v) not in self.choices.field.empty_values]
        if not chosen or any(pk not in self.known for pk in chosen):
            return super().optgroups(name, value, attr)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        for pk in chosen:
            label = self.choices.field.label_from_instance(self.known[pk])
            options.append(self.create_option(name, pk, label, set(chosen), len(options)))
        return [(None, options, 0)]


class LinesFormSet(BaseInlineFormSet):
    """An order's lines, whose item and lot widgets are labelled from the lines read once (`select_related`).

    Set on each form as it is made (not in __init__: the admin still changes `extra` after that, e.g. to show no
    blank line on a read-only order)."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if not hasattr(self, "_known"):
            lines = list(self.get_queryset())
            self._known = {"item": {str(line.item_id): line.item for line in lines},
                           "lot": {str(line.lot_id): line.lot for line in lines if line.lot_id}}
        for name, objects in self._known.items():
            widget = getattr(form.fields[name].widget, "widget", None) if name in form.fields else None
            if isinstance(widget, KnownAutocompleteSelect):
                widget.known = objects
        return form


class OrderLineInline(UnfoldTabularInline):
    """The order's lines; read only while another app holds the order (e.g. its allocations)."""

    model = OrderLine
    formset = LinesFormSet
    extra = 1

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.autocomplete_fields:
            kwargs.setdefault("widget", KnownAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using")))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_max_num(self, request, obj=None, **kwargs) -> int:
        return settings.ORDER_MAX_LINES

    def get_extra(self, request, obj=None, **kwargs) -> int:
        # No blank line on a held order's read-only page (the admin resets `extra` only after making the forms).
        return 0 if lock_of(obj) else self.extra

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item", "lot")  # a line reads "CODE name × quantity"

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(request, obj, validate_max=True, **kwargs)
    fields = ("item", "quantity", "unit_price", "lot", "subtotal")
    readonly_fields = ("subtotal",)
    autocomplete_fields = ("item", "lot")

    @admin.display(description=_("subtotal"))
    def subtotal(self, line: OrderLine) -> str:
        return "" if line.subtotal is None else money(line.subtotal)

    def has_add_permission(self, request, obj=None) -> bool:
        return not lock_of(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return not lock_of(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not lock_of(obj) and super().has_delete_permission(request, obj)


def lines_of(formsets) -> list[dict]:
    """Return the lines the order's inline formset holds, as `order_create`/`order_update` take them.

    A line kept has its `id`, a new one has none, a line marked for deletion is left out
    (so the service removes it). Empty extra forms are skipped.
    """
    lines = []
    for formset in formsets:
        if formset.model is not OrderLine:
            continue
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for form in formset.forms:
            existing = form.instance.pk is not None
            if formset.can_delete and formset._should_delete_form(form):
                if existing:
                    formset.deleted_objects.append(form.instance)
                continue
            if not existing and not form.has_changed():
                continue
            data = {name: form.cleaned_data.get(name) for name in ("item", "quantity", "unit_price", "lot")}
            lines.append({"id": form.instance.pk, **data} if existing else data)
            if not existing:
                formset.new_objects.append(form.instance)
            elif form.has_changed():
                formset.changed_objects.append((form.instance, form.changed_data))
    return lines


class CustomerFilter(InputFilter):
    """Orders of the customers whose code is, or whose name contains, the text typed."""

    title = _("customer")
    parameter_name = "customer"

    def filter(self, queryset, text: str):
        return queryset.filter(Q(customer__code__iexact=text) | Q(customer__name__icontains=text))


class ItemFilter(InputFilter):
    """Orders with a line of the item whose code is the text typed."""

    title = _("item")
    parameter_name = "item"

    def filter(self, queryset, text: str):
        return queryset.filter(Exists(OrderLine.objects.filter(order_id=OuterRef("pk"), item__item_code__iexact=text)))


@admin.register(Order)
class OrderAdmin(ImportExportPermissions, ImportExportMixin, ServiceModelAdmin):
    """Orders, with the CSV/Excel import and export of orders (one row per line: an export imports back); saving
    and deleting go through `orders.services` (with its lines).

    An order that another app holds (`orders.services.order_lock`: allocation, while it holds
    allocations) is read only, with a banner saying why; `release_url` may add a button to free it.
    The allocation app extends this admin with its actions and columns (`allocation.admin`).
    """

    writes = ORDER_WRITES
    resource_classes = [OrderLineResource]
    actions = [delete_selected]
    change_form_template = "admin/orders/order/change_form.html"
    list_display = ("order_number", "customer", "order_date", "priority", "status", "ordered")
    list_filter = ("status", CustomerFilter, ItemFilter, "order_date")
    search_fields = ("order_number", "customer__code", "customer__name")
    # No date_hierarchy: its links are a DISTINCT over every order's date (165 ms at 100,000 orders on SQLite);
    # the order date filter (today, past 7 days, this month, this year) costs nothing.
    autocomplete_fields = ("customer",)
    list_select_related = ("customer",)
    readonly_fields = ("status", "total_amount", "created_at", "updated_at")
    inlines = [OrderLineInline]

    def get_export_queryset(self, request):
        """The lines of the orders the list shows (its filters and search), one row each."""
        orders = super().get_export_queryset(request)
        return OrderLine.objects.filter(order__in=orders.values("pk")).select_related(
            "order__customer", "item", "lot").order_by("order__order_number", "id")

    def get_queryset(self, request):
        ordered = OrderLine.objects.filter(order_id=OuterRef("pk")).order_by().values("order_id").annotate(
            q=Sum("quantity")
        ).values("q")
        return super().get_queryset(request).annotate(ordered_quantity=Subquery(ordered))

    @admin.display(description=_("ordered"), ordering="ordered_quantity")
    def ordered(self, order: Order) -> int:
        return order.ordered_quantity or 0

    def release_url(self, request, order: Order) -> str | None:
        """Return where a button on a held order's page frees it (none here; see allocation.admin)."""
        return None

    @admin.display(description=_("total amount"))
    def total_amount(self, order: Order) -> str:
        return money(order_total(order.lines.all())) if order.pk else ""

    def has_change_permission(self, request, obj=None) -> bool:
        return not lock_of(obj) and super().has_change_permission(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        order = self.get_object(request, object_id) if object_id else None
        if request.method == "POST" and lock_of(order):  # a form opened before the order was allocated
            self.message_user(request, lock_of(order), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        extra = dict(extra_context or {})
        if lock_of(order):
            extra.update(held_notice=lock_of(order), release_url=self.release_url(request, order))
        return super().changeform_view(request, object_id, form_url, extra)

    def save_model(self, request, obj: Order, form, change: bool) -> None:
        """Nothing yet: the order is written with its lines, in one service call, by `save_related`."""

    def save_related(self, request, form, formsets, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in form.cleaned_data}
        lines = lines_of(formsets)
        if change:
            saved = self.writes.update(order=form.instance, lines=lines, user=request.user, **fields)
        else:
            saved = self.writes.create(lines=lines, user=request.user, **fields)
        copy_saved(saved, form.instance)


@admin.register(Payment)
class PaymentAdmin(ImportExportPermissions, ExportMixin, ServiceModelAdmin):
    writes = PAYMENT_WRITES
    resource_classes = [PaymentResource]
    list_display = ("customer", "amount_shown", "due_date", "paid_on", "status")
    amount_shown = money_column("amount", _("amount"))
    list_filter = ("status", "due_date")
    search_fields = ("customer__code", "customer__name")
    date_hierarchy = "due_date"
    autocomplete_fields = ("customer",)
    list_select_related = ("customer",)
