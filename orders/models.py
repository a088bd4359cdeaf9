"""Customers, their orders (with lines) and their payments."""
import secrets
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory_alloc.dates import SANE_DATE
from stock.models import Item, Lot

CENTS = Decimal("0.01")


class Customer(models.Model):
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    credit_limit = models.DecimalField(_("credit limit"), max_digits=14, decimal_places=2, default=0)
    credit_period_days = models.PositiveIntegerField(_("credit period (days)"), default=30)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="customer_credit_limit_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


def generate_order_number() -> str:
    """Return a new order number such as SO-20260106-3F9A2C."""
    return f"SO-{timezone.localdate():%Y%m%d}-{secrets.token_hex(3).upper()}"


class OrderStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PARTIALLY_ALLOCATED = "partially_allocated", _("Partially allocated")
    ALLOCATED = "allocated", _("Allocated")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    CANCELLED = "cancelled", _("Cancelled")

    @classmethod
    def derive(cls, ordered: int, allocated: int, shipped: int = 0) -> "OrderStatus":
        """Return the status of a (not cancelled) order from its line totals (units ordered, allocated, shipped)."""
        if shipped > 0:
            return cls.SHIPPED if shipped >= ordered else cls.PARTIALLY_SHIPPED
        if allocated <= 0:
            return cls.OPEN
        if allocated >= ordered:
            return cls.ALLOCATED
        return cls.PARTIALLY_ALLOCATED


# A partly shipped order may still have lines to allocate (a run finds nothing to do for one that has none).
SHIPPED_STATUSES = (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED)
ALLOCATABLE_STATUSES = (OrderStatus.OPEN, OrderStatus.PARTIALLY_ALLOCATED, OrderStatus.PARTIALLY_SHIPPED)


class Order(models.Model):
    order_number = models.CharField(
        _("order number"), max_length=64, unique=True, default=generate_order_number,
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="orders",
        verbose_name=_("customer"),
    )
    order_date = models.DateField(_("order date"), default=timezone.localdate, validators=SANE_DATE)
    priority = models.IntegerField(_("priority"), default=0, help_text=_("Higher is served first."))
    # Derived from the lines' active allocations; kept by the allocation services.
    status = models.CharField(
        _("status"), max_length=24, choices=OrderStatus.choices, default=OrderStatus.OPEN,
        editable=False,
    )
    note = models.TextField(_("note"), blank=True)
    # How many events (allocation.allocated, order.shipped, ...) were written about this order: each event
    # carries the next number, so a receiver can put them in order. Kept by the allocation services.
    event_sequence = models.PositiveIntegerField(_("event sequence"), default=0, db_default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-order_date", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        # No index on status: a run rewrites the status of thousands of orders, and with
        # no index on it PostgreSQL can update those rows in place (HOT updates). The index on the
        # order date (a run never changes it) serves the order list's newest-first page.
        indexes = [models.Index(fields=["order_date", "id"], name="order_date_idx")]

    def __str__(self) -> str:
        return self.order_number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("item"))
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(
        _("unit price"), max_digits=14, decimal_places=2, null=True, blank=True,
        help_text=_("Selling price; the item's unit price when left empty."),
    )
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="named_by_lines",
        verbose_name=_("lot"), help_text=_("Only used by specific identification (個別法)."),
    )

    class Meta:
        ordering = ["order_id", "id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.item.item_code} {self.item.name} × {self.quantity}"

    @property
    def subtotal(self) -> Decimal | None:
        """Return quantity × unit price, rounded half up to cents (None while the price is unknown)."""
        if self.unit_price is None or self.quantity is None:
            return None
        return (self.quantity * self.unit_price).quantize(CENTS, rounding=ROUND_HALF_UP)

    def clean(self) -> None:
        if self.lot_id and self.item_id and self.lot.item_id != self.item_id:
            raise ValidationError({"lot": _("The lot must be a lot of the line's item.")})

    def save(self, *args, **kwargs) -> None:
        if self.unit_price is None and self.item_id:
            self.unit_price = Item.objects.values_list("unit_price", flat=True).get(pk=self.item_id)
        super().save(*args, **kwargs)


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")


class Payment(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments", verbose_name=_("customer"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    due_date = models.DateField(_("due date"), validators=SANE_DATE)
    paid_on = models.DateField(_("paid on"), null=True, blank=True, validators=SANE_DATE)
    status = models.CharField(_("status"), max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)

    class Meta:
        ordering = ["-due_date", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [models.Index(fields=["customer", "due_date"], name="payment_customer_due_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.amount} due {self.due_date}"

    @property
    def is_overdue(self) -> bool:
        return self.status == PaymentStatus.PENDING and self.due_date < timezone.localdate()
