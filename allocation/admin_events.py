"""The admin pages of the event outbox and its webhooks (registered when `allocation.admin` imports this).

Events and deliveries are read only: the services write them. Deliveries are part of their endpoint, so
whoever may view endpoints may view them, and "Send again" needs the right to change endpoints. The
endpoints' own pages are in `allocation.admin_webhooks`.
"""
from __future__ import annotations

import json
import re

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin as UnfoldModelAdmin

from allocation import admin_webhooks
from allocation.admin_views import domain_error_message
from allocation.event_data import fill_data
from allocation.models import Delivery, Event
from allocation.webhooks import deliveries_redeliver
from inventory_alloc.errors import DomainError

EVENT_ID = re.compile(r"evt_([0-9]{1,18})", re.IGNORECASE)
DATA_SHOWN = 100_000  # characters of an event's data on its page; the API has it all
DELIVERIES_SHOWN = 20  # an event's deliveries on its page
ATTEMPTS_SHOWN = 20  # a delivery's attempts on its page
REDELIVER_MAX = 1000  # deliveries "Send again" takes at once


class ReadOnly:
    """Nobody adds, changes or deletes these rows in the admin: the services write them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def change_link(obj, label: object = None) -> str:
    """Return a link to an object's admin page ("-" for none)."""
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if label is None else label)


def can_view_webhooks(request) -> bool:
    return request.user.has_perm("allocation.view_webhookendpoint")


@admin.register(Event)
class EventAdmin(ReadOnly, UnfoldModelAdmin):
    """Events, newest first; an event's page shows its data, pretty-printed, and where it was delivered."""

    list_display = ("event_id", "type", "occurred_at", "order_link", "sequence", "run_link", "lot_link")
    list_filter = ("type", "occurred_at")
    search_fields = ("^order__order_number",)
    search_help_text = _("An order number (or its start), or an event id such as evt_42.")
    list_select_related = ("order", "run", "lot")
    show_full_result_count = False
    fields = ("event_id", "type", "occurred_at", "order_link", "sequence", "run_link", "lot_link", "pretty_data")
    readonly_fields = (*fields, "deliveries_of_event")

    def get_queryset(self, request) -> QuerySet:
        # A run's parameters may hold 200,000 order ids: nothing here reads them.
        return super().get_queryset(request).defer("run__requested_orders")

    def get_fields(self, request, obj=None):
        return (*self.fields, "deliveries_of_event") if can_view_webhooks(request) else self.fields

    def get_search_results(self, request, queryset, search_term):
        if match := EVENT_ID.fullmatch(search_term.strip()):
            return queryset.filter(pk=int(match[1])), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("event"), ordering="id")
    def event_id(self, event: Event) -> str:
        return event.public_id

    @admin.display(description=_("order"), ordering="order__order_number")
    def order_link(self, event: Event) -> str:
        return change_link(event.order)

    @admin.display(description=_("run"), ordering="run_id")
    def run_link(self, event: Event) -> str:
        return change_link(event.run, f"#{event.run_id}" if event.run_id else None)

    @admin.display(description=_("lot"))
    def lot_link(self, event: Event) -> str:
        return change_link(event.lot)

    @admin.display(description=_("data"))
    def pretty_data(self, event: Event) -> str:
        fill_data([event])
        text = json.dumps(json.loads(event.data), indent=2, ensure_ascii=False)
        if len(text) <= DATA_SHOWN:
            return format_html('<pre class="event-data">{}</pre>', text)
        note = gettext("The first %(shown)s characters of %(total)s; all of it: GET /api/v1/events/%(id)s/") % {
            "shown": f"{DATA_SHOWN:,}", "total": f"{len(text):,}", "id": event.public_id}
        return format_html('<pre class="event-data">{}</pre><p class="help">{}</p>', text[:DATA_SHOWN], note)

    @admin.display(description=_("deliveries"))
    def deliveries_of_event(self, event: Event) -> str:
        deliveries = list(Delivery.objects.filter(event_id=event.pk).select_related("endpoint")
                          .order_by("id")[:DELIVERIES_SHOWN])
        if not deliveries:
            return gettext("None: no active endpoint received this type when it happened.")
        return format_html_join("", "<div>{} → {}: {} ({})</div>", (
            (change_link(d, f"#{d.pk}"), d.endpoint.url, d.get_status_display(),
             ngettext("%(n)s attempt", "%(n)s attempts", d.attempts) % {"n": d.attempts}) for d in deliveries))


@admin.action(description=_("Send again"), permissions=["redeliver"])
def redeliver_deliveries(modeladmin, request, queryset):
    """Send the selected deliveries again from the first attempt; pending ones are refused, in words."""
    ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:REDELIVER_MAX + 1])
    if len(ids) > REDELIVER_MAX:
        modeladmin.message_user(request, gettext(
            "Select at most %(max)s deliveries. To send every failed delivery of an endpoint again, use "
            "“Send failed deliveries again” on the webhook endpoints.") % {"max": REDELIVER_MAX}, messages.ERROR)
        return None
    try:
        count = deliveries_redeliver(deliveries=ids, user=request.user)
    except DomainError as error:
        modeladmin.message_user(request, domain_error_message(error), messages.ERROR)
        return None
    modeladmin.message_user(request, ngettext(
        "%(count)s delivery will be sent again.", "%(count)s deliveries will be sent again.", count) % {"count": count},
        messages.SUCCESS)
    return None


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly, UnfoldModelAdmin):
    """Deliveries, newest first; a delivery's page shows its last attempts."""

    actions = [redeliver_deliveries]
    list_display = ("id", "event_link", "endpoint", "status", "attempts", "last_response_status", "next_attempt_at",
                    "last_attempt_at")
    list_filter = ("status", "endpoint")
    list_select_related = ("event", "endpoint")
    show_full_result_count = False
    fields = ("event_link", "endpoint_link", "status", "attempts", "next_attempt_at", "last_attempt_at",
              "last_response_status", "last_error", "created_at", "attempt_history")
    readonly_fields = fields

    def get_queryset(self, request) -> QuerySet:
        return super().get_queryset(request).defer("event__data")  # a run's event may carry thousands of picks

    def has_view_permission(self, request, obj=None) -> bool:
        return can_view_webhooks(request) or super().has_view_permission(request, obj)

    def has_redeliver_permission(self, request) -> bool:
        return request.user.has_perm("allocation.change_webhookendpoint")

    @admin.display(description=_("event"), ordering="event_id")
    def event_link(self, delivery: Delivery) -> str:
        return change_link(delivery.event, f"{delivery.event.public_id} {delivery.event.type}")

    @admin.display(description=_("endpoint"))
    def endpoint_link(self, delivery: Delivery) -> str:
        return change_link(delivery.endpoint)

    @admin.display(description=_("attempts, newest first"))
    def attempt_history(self, delivery: Delivery) -> str:
        attempts = list(delivery.attempt_rows.order_by("-id")[:ATTEMPTS_SHOWN + 1])
        more = "" if len(attempts) <= ATTEMPTS_SHOWN else format_html('<p class="help">{}</p>', gettext(
            "The last %(shown)s attempts are shown.") % {"shown": ATTEMPTS_SHOWN})
        attempts = attempts[:ATTEMPTS_SHOWN]
        if not attempts:
            return gettext("No attempt yet.")
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (formats.localize(timezone.localtime(a.attempted_at)), gettext("yes") if a.succeeded else gettext("no"),
             a.response_status or "-", a.duration_ms, a.error or a.response_body) for a in attempts))
        head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>", gettext("At"),
                           gettext("Succeeded"), gettext("Status"), gettext("ms"), gettext("Error or answer"))
        return format_html('<table class="delivery-attempts"><thead>{}</thead><tbody>{}</tbody></table>{}',
                           head, rows, more)


admin_webhooks.register(admin.site)
