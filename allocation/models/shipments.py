"""Shipments: allocated picks that have left the warehouse."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from orders.models import Order

from .runs import AllocationResult


class Shipment(models.Model):
    """What one shipping call sent of one order: one ShipmentPick per pick (allocation result) it took from.

    `reference` is the warehouse's or carrier's (a tracking number): given twice for one order, the
    second call is refused, so a warehouse that retries its callback does not ship twice.
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("order"))
    reference = models.CharField(pgettext_lazy("shipment", "reference"), max_length=100, blank=True,
                                 help_text=_("The warehouse's or carrier's reference, e.g. a tracking number."))
    quantity = models.PositiveIntegerField(_("quantity"))
    shipped_at = models.DateTimeField(_("shipped at"))
    shipped_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("shipped by"))

    class Meta:
        ordering = ["-shipped_at", "-id"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        constraints = [
            models.UniqueConstraint(fields=["order", "reference"], condition=~Q(reference=""),
                                    name="shipment_reference_unique_per_order"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_quantity_positive"),
        ]
        permissions = [("ship_order", _("Can ship allocated orders"))]

    def __str__(self) -> str:
        return f"{self.order_id} × {self.quantity} at {self.shipped_at:%Y-%m-%d}"


class ShipmentPick(models.Model):
    """The units of one pick (an allocation result) that a shipment sent."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="picks", verbose_name=_("shipment"))
    result = models.ForeignKey(AllocationResult, on_delete=models.PROTECT, related_name="shipment_picks",
                               verbose_name=_("allocation result"))
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        ordering = ["shipment_id", "id"]
        verbose_name = _("shipped pick")
        verbose_name_plural = _("shipped picks")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_pick_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.result_id} × {self.quantity}"
