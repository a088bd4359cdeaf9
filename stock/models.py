"""Items and the lots they are received in."""
from datetime import date

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from inventory_alloc.dates import SANE_DATE


class Item(models.Model):
    item_code = models.CharField(_("item code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True, db_index=True)
    unit_price = models.DecimalField(
        _("unit price"), max_digits=14, decimal_places=2, default=0,
        help_text=_("Standard selling price."),
    )
    unit = models.CharField(_("unit"), max_length=20, default="pcs")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["item_code"]
        verbose_name = _("item")
        verbose_name_plural = _("items")
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="item_unit_price_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.item_code} {self.name}"


class LotQuerySet(models.QuerySet):
    def in_stock(self, at: date) -> "LotQuerySet":
        """Return lots received on or before `at` (expired ones included)."""
        return self.filter(received_on__isnull=False, received_on__lte=at)

    def expired(self, at: date) -> "LotQuerySet":
        return self.filter(expires_on__isnull=False, expires_on__lt=at)

    def not_expired(self, at: date) -> "LotQuerySet":
        return self.filter(Q(expires_on__isnull=True) | Q(expires_on__gte=at))

    def inbound(self, at: date) -> "LotQuerySet":
        """Return lots not received by `at` and not expired at `at`."""
        return self.filter(Q(received_on__isnull=True) | Q(received_on__gt=at)).not_expired(at)


class Lot(models.Model):
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="lots", verbose_name=_("item"))
    quantity = models.PositiveIntegerField(_("quantity"), help_text=_("Units received or expected."))
    unit_cost = models.DecimalField(_("unit cost"), max_digits=18, decimal_places=4)
    received_on = models.DateField(_("received on"), null=True, blank=True, validators=SANE_DATE)
    eta = models.DateField(_("ETA"), null=True, blank=True, help_text=_("Expected arrival, for lots not received yet."),
                           validators=SANE_DATE)
    expires_on = models.DateField(_("expires on"), null=True, blank=True, validators=SANE_DATE)
    note = models.TextField(_("note"), blank=True)
    # Maintained by the allocation services only; the CHECK below makes the
    # database itself refuse any oversell.
    allocated_quantity = models.PositiveIntegerField(_("allocated quantity"), default=0, editable=False)
    # Of the allocated units, those shipped (they have left the warehouse): on hand is quantity - shipped.
    shipped_quantity = models.PositiveIntegerField(_("shipped quantity"), default=0, db_default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = LotQuerySet.as_manager()

    class Meta:
        ordering = ["item_id", "received_on", "id"]
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="lot_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="lot_unit_cost_non_negative"),
            models.CheckConstraint(
                condition=Q(allocated_quantity__gte=0) & Q(allocated_quantity__lte=F("quantity")),
                name="lot_allocated_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(shipped_quantity__gte=0) & Q(shipped_quantity__lte=F("allocated_quantity")),
                name="lot_shipped_within_allocated",
            ),
        ]
        indexes = [
            models.Index(fields=["item", "received_on"], name="lot_item_received_idx"),
            models.Index(fields=["item", "eta"], name="lot_item_eta_idx"),
            models.Index(fields=["expires_on"], name="lot_expires_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def available_quantity(self) -> int:
        return self.quantity - self.allocated_quantity

    @property
    def on_hand_quantity(self) -> int:
        """Return the units still in the warehouse (or expected): received or announced, less those shipped."""
        return self.quantity - self.shipped_quantity
