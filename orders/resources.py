"""CSV/Excel import and export of customers and orders (see `inventory_alloc.imports`).

Orders come one row per order line, grouped by order number, and go through `orders.services` (an
order another app holds, e.g. one holding allocations, is refused: release it first).
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, widgets

from inventory_alloc.errors import DomainError
from inventory_alloc.imports import BackOfficeResource, CodeWidget, PlainNumbersResource, WholeNumberWidget, row_error
from orders.models import Customer, Order, OrderLine, Payment
from orders.services import CUSTOMER_WRITES, order_create, order_lines_save, order_update
from stock.models import Item, Lot


class PaymentResource(PlainNumbersResource):
    """Payments, exported (they are written on their page or through the API)."""

    customer = fields.Field(attribute="customer__code", column_name="customer")

    class Meta:
        model = Payment
        fields = ("id", "customer", "amount", "due_date", "paid_on", "status")


class CustomerResource(BackOfficeResource):
    writes = CUSTOMER_WRITES

    class Meta:
        model = Customer
        fields = ("code", "name", "email", "phone", "address", "notes", "credit_limit", "credit_period_days", "is_active")
        import_id_fields = ("code",)
        clean_model_instances = True
        skip_unchanged = True


class OrderLineResource(BackOfficeResource):
    """Orders, one row per line: order_number, customer, order_date, priority, item_code, quantity, unit_price, lot.

    The export writes the same columns, so an exported file imports back."""

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

    def get_instance(self, instance_loader, row):
        """The row's line, found by order, item and lot; a row that fits two lines is refused in words."""
        try:
            return super().get_instance(instance_loader, row)
        except OrderLine.MultipleObjectsReturned:
            raise ValidationError({"item": _(
                "Order %(order)s has more than one line of %(item)s with this lot; a row cannot say which one to "
                "change. Edit the order on its page, or give each line its own lot.")
                % {"order": row.get("order_number"), "item": row.get("item_code")}}) from None

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
