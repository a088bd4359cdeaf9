"""The outbox of domain events, and the webhook endpoints and deliveries that carry them out.

An event is written in the same transaction as the change it tells of (a run's picks, a release, a
shipment, a lot edit, a period close), so a rolled-back change leaves no event and a committed one
leaves all of its events. Its `data` is JSON text, written once and sent as it is; a run's events
(`allocation.allocated`, `order.short`) have none written and are told from the run's results and
outcomes, which keep what they said (`allocation.event_data`). Each active
endpoint subscribed to the event's type gets one delivery, created in that same transaction; the
dispatcher (`allocation.delivery`) sends deliveries that are due and records every attempt.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from orders.models import Order
from stock.models import Lot

from .runs import AllocationRun


class EventType(models.TextChoices):
    ALLOCATED = "allocation.allocated", _("allocation.allocated: an order's new picks")
    RELEASED = "allocation.released", _("allocation.released: picks given back")
    SHORT = "order.short", _("order.short: an order left partly or not allocated")
    CANCELLED = "order.cancelled", _("order.cancelled")
    SHIPPED = "order.shipped", _("order.shipped")
    LOT_CHANGED = "lot.changed", _("lot.changed: quantity or dates edited")
    PERIOD_CLOSED = "period.closed", _("period.closed: total-average costs made final")


class Event(models.Model):
    """One thing that happened, as other systems are told of it. Never changed, never deleted by the app.

    `sequence` numbers the events of one order (1, 2, ...), so a receiver can put late arrivals in
    order; events of no order (lot.changed, period.closed) have none. Written set-based by a run (COPY
    on PostgreSQL), so it keeps few indexes and no database foreign keys.
    """

    type = models.CharField(_("type"), max_length=32, choices=EventType.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    order = models.ForeignKey(Order, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+",
                              verbose_name=_("order"), db_constraint=False, db_index=False)
    sequence = models.PositiveIntegerField(_("sequence"), null=True, blank=True)
    run = models.ForeignKey(AllocationRun, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+",
                            verbose_name=_("run"), db_constraint=False, db_index=False)
    lot = models.ForeignKey(Lot, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+",
                            verbose_name=_("lot"), db_constraint=False, db_index=False)
    # The event's data as JSON text: what every delivery sends, byte for byte, inside {"type", "timestamp", "data"};
    # empty for a run's events, whose data `allocation.event_data.fill_data` makes from the run's rows.
    data = models.TextField(_("data"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["order", "id"], name="event_order_idx"),
            models.Index(fields=["run", "id"], name="event_run_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type}"

    @property
    def public_id(self) -> str:
        """Return the id receivers see (`webhook-id`): the same on every attempt and every endpoint."""
        return f"evt_{self.pk}"


class WebhookEndpoint(models.Model):
    """A URL that is sent the events it subscribes to (none listed: all), signed with its secret."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Event types this endpoint receives; an empty list means every type.
    events = models.JSONField(_("events"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Standard Webhooks symmetric secret ("whsec_" + base64). Shown once, when created or rotated.
    secret = models.CharField(_("secret"), max_length=100, editable=False)
    # After a rotation the old secret still signs (a second signature) until it expires, so receivers can switch.
    previous_secret = models.CharField(_("previous secret"), max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(_("previous secret expires at"), null=True, blank=True,
                                                      editable=False)
    # Since when every attempt failed (cleared by a success); past WEBHOOK_DISABLE_AFTER the endpoint is disabled.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    disabled_reason = models.TextField(_("disabled because"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"), editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def receives(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("delivery", "Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One event on its way to one endpoint: pending until an attempt succeeds or the retries run out."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries",
                                 verbose_name=_("endpoint"), db_index=False)
    event = models.ForeignKey(Event, on_delete=models.DO_NOTHING, related_name="deliveries",
                              verbose_name=_("event"), db_constraint=False)
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When the next attempt is due (pending only). A dispatcher that takes a delivery moves it to the
    # end of its lease, so no other dispatcher sends it meanwhile.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claim = models.CharField(_("claimed by"), max_length=32, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(_("last response status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(fields=["endpoint", "status", "id"], name="delivery_endpoint_idx"),
            # Only pending deliveries are looked up by when they are due: a small index.
            models.Index(fields=["next_attempt_at"], name="delivery_due_idx", condition=Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}: {self.status}"


class DeliveryAttempt(models.Model):
    """One HTTP POST of a delivery: when, how it answered (status, first bytes of the body) or why it failed."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows",
                                 verbose_name=_("delivery"))
    attempted_at = models.DateTimeField(_("attempted at"))
    succeeded = models.BooleanField(_("succeeded"), default=False)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.TextField(_("response body (first bytes)"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"
