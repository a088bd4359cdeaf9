"""django-import-export resources: CSV/Excel import of the master data and orders, export of results and runs.

Imports run through import-export's two steps (a dry run with a preview of
every row and its errors, then the confirmation), so a file with one bad row
saves nothing. Every row is written through the services of its model, like
the admin's forms and the API (a refusal is that row's error): lots are
matched by reference and updated through `stock.services.lot_update` (never
below what is allocated; `allocated_quantity` is not a column); orders come
one row per order line, grouped by order number, and go through
`orders.services` (an order that holds allocations is refused: release it
first).
"""
from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from allocation.domain import DomainError, LotOverAllocated
from allocation.models import AllocationResult, AllocationRun
from allocation.selectors import lot_holders
from inventory_alloc.records import Writes
from orders.models import Customer, Order, OrderLine
from orders.services import CUSTOMER_WRITES, order_create, order_lines_save, order_update
from stock.models import Item, Lot
from stock.services import ITEM_WRITES, LOT_WRITES


class CodeWidget(widgets.ForeignKeyWidget):
    """A foreign key by its code, with a plain "no such code" error instead of DoesNotExist."""

    def clean(self, value, row=None, **kwargs):
        value = str(value).strip() if value is not None else ""
        if not value:
            return None
        try:
            return super().clean(value, row=row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(_('No %(model)s "%(value)s".') % {"model": self.model._meta.verbose_name, "value": value})


class WholeNumberWidget(widgets.IntegerWidget):
    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row=row, **kwargs)
        except (ArithmeticError, ValueError):
            raise ValueError(_('"%(value)s" is not a whole number.') % {"value": value})


class NumberWidget(widgets.DecimalWidget):
    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row=row, **kwargs)
        except (ArithmeticError, ValueError):
            raise ValueError(_('"%(value)s" is not a number.') % {"value": value})


def row_error(error: DomainError, field: str = NON_FIELD_ERRORS) -> ValidationError:
    """Return a service's refusal as the row's validation error, which the import shows on the row."""
    return ValidationError({getattr(error, "field", None) or field: error.message})


class BackOfficeResource(resources.ModelResource):
    """A model resource that writes through its model's services (`writes`, on the fields `write_fields`).

    Its number columns also give a plain row error for text that is not a number.
    """

    writes: Writes | None = None

    @classmethod
    def widget_from_django_field(cls, f, default=widgets.Widget):
        widget = super().widget_from_django_field(f, default)
        return {widgets.IntegerWidget: WholeNumberWidget, widgets.DecimalWidget: NumberWidget}.get(widget, widget)

    def before_import(self, dataset, **kwargs) -> None:
        self.user = kwargs.get("user")
        super().before_import(dataset, **kwargs)

    def write_values(self, instance) -> dict:
        return {field.attribute: getattr(instance, field.attribute) for field in self.get_import_fields()
                if field.attribute and "__" not in field.attribute}

    def do_instance_save(self, instance, is_create: bool) -> None:
        values = self.write_values(instance)
        try:
            if is_create:
                saved = self.writes.create_with(values, getattr(self, "user", None))
            else:
                saved = self.writes.update_with(instance, values, getattr(self, "user", None))
        except DomainError as error:
            raise row_error(error) from error
        instance.pk = saved.pk


class ItemResource(BackOfficeResource):
    writes = ITEM_WRITES

    class Meta:
        model = Item
        fields = ("item_code", "name", "category", "unit_price", "unit", "is_active")
        import_id_fields = ("item_code",)
        clean_model_instances = True
        skip_unchanged = True


class CustomerResource(BackOfficeResource):
    writes = CUSTOMER_WRITES

    class Meta:
        model = Customer
        fields = ("code", "name", "email", "phone", "address", "notes", "credit_limit", "credit_period_days", "is_active")
        import_id_fields = ("code",)
        clean_model_instances = True
        skip_unchanged = True


class LotResource(BackOfficeResource):
    writes = LOT_WRITES
    item = fields.Field(attribute="item", column_name="item_code", widget=CodeWidget(Item, "item_code"))

    class Meta:
        model = Lot
        # allocated_quantity is kept by the allocation services; it is never a column.
        fields = ("reference", "item", "quantity", "unit_cost", "received_on", "eta", "expires_on", "note")
        import_id_fields = ("reference",)
        clean_model_instances = True
        skip_unchanged = True

    def validate_instance(self, instance: Lot, import_validation_errors=None, validate_unique=True) -> None:
        errors = dict(import_validation_errors or {})
        if instance.pk and isinstance(instance.quantity, int) and instance.quantity < instance.allocated_quantity:
            refused = LotOverAllocated(instance.reference, instance.allocated_quantity, lot_holders(instance.pk))
            errors.setdefault("quantity", ValidationError(refused.message))
        super().validate_instance(instance, errors, validate_unique)


class OrderLineResource(BackOfficeResource):
    """Orders, one row per line: order_number, customer, order_date, priority, item_code, quantity, unit_price, lot."""

    order = fields.Field(attribute="order", column_name="order_number", widget=CodeWidget(Order, "order_number"))
    customer = fields.Field(column_name="customer")
    order_date = fields.Field(column_name="order_date")
    priority = fields.Field(column_name="priority")
    item = fields.Field(attribute="item", column_name="item_code", widget=CodeWidget(Item, "item_code"))
    lot = fields.Field(attribute="lot", column_name="lot", widget=CodeWidget(Lot, "reference"))

    class Meta:
        model = OrderLine
        name = "Orders (one row per line)"
        fields = ("order", "customer", "order_date", "priority", "item", "quantity", "unit_price", "lot")
        import_id_fields = ("order", "item", "lot")
        clean_model_instances = True

    def before_import_row(self, row, **kwargs) -> None:
        """Create (or update) the row's order, unless it already holds allocations."""
        number = str(row.get("order_number") or "").strip()
        if not number:
            raise ValidationError({"order_number": _("An order number is required.")})
        errors = {}
        customer = None
        try:
            customer = CodeWidget(Customer, "code").clean(row.get("customer"))
        except ValueError as error:
            errors["customer"] = str(error)
        try:
            order_date = widgets.DateWidget().clean(row.get("order_date"))
        except ValueError as error:
            errors["order_date"], order_date = str(error), None
        try:
            priority = WholeNumberWidget().clean(row.get("priority")) or 0
        except ValueError as error:
            errors["priority"], priority = str(error), 0
        if errors:
            raise ValidationError(errors)
        fields = {"customer": customer, "priority": priority, **({"order_date": order_date} if order_date else {})}
        order = Order.objects.filter(order_number=number).first()
        user = getattr(self, "user", None)
        try:
            if order is None:
                order_create(order_number=number, user=user, **fields)
            else:
                order_update(order=order, user=user, **fields)
        except DomainError as error:
            raise row_error(error, "order_number") from error

    def do_instance_save(self, line: OrderLine, is_create: bool) -> None:
        data = {"item": line.item, "quantity": line.quantity, "unit_price": line.unit_price, "lot": line.lot}
        try:
            order_lines_save(order=line.order, lines=[data if is_create else {"id": line.pk, **data}],
                             user=getattr(self, "user", None))
        except DomainError as error:
            raise row_error(error, "order_number") from error

    def dehydrate_customer(self, line: OrderLine) -> str:
        return line.order.customer.code if line.order.customer_id else ""

    def dehydrate_order_date(self, line: OrderLine) -> str:
        return line.order.order_date.isoformat()

    def dehydrate_priority(self, line: OrderLine) -> int:
        return line.order.priority

    def get_queryset(self):
        return OrderLine.objects.select_related("order__customer", "item", "lot")


class AllocationResultResource(resources.ModelResource):
    run = fields.Field(attribute="run_id", column_name="run")
    order = fields.Field(attribute="order__order_number", column_name="order_number")
    item = fields.Field(attribute="item__item_code", column_name="item_code")
    lot = fields.Field(attribute="lot__reference", column_name="lot")
    allocated_price = fields.Field(attribute="allocated_price", column_name="amount")

    class Meta:
        model = AllocationResult
        fields = ("id", "run", "order", "order_line", "item", "lot", "allocated_quantity", "unit_cost", "allocated_price",
                  "allocation_date", "method", "cost_final", "provisional_unit_cost", "provisional_price", "released_at")


class AllocationRunResource(resources.ModelResource):
    started_by = fields.Field(attribute="started_by__username", column_name="started_by")

    class Meta:
        model = AllocationRun
        fields = ("id", "method", "policy", "as_of", "allow_partial", "allow_inbound", "status", "started_by", "started_at",
                  "finished_at", "orders_considered", "orders_fully_allocated", "orders_partly_allocated",
                  "orders_not_allocated", "allocated_quantity", "allocated_amount", "error")
