"""The admin pages of webhook endpoints: every save, delete, rotation and redelivery goes through
`allocation.webhooks`.

The signing secret is shown once, in a message, right after it is made (on create and on "Rotate secret");
no page shows it again. An endpoint the dispatcher disabled says so, why, and how to turn it back on.
`allocation.admin_events` registers this admin with the events' and deliveries'.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from allocation.models import Delivery, DeliveryAttempt, DeliveryStatus, EventType, WebhookEndpoint
from allocation.webhooks import WEBHOOK_WRITES, check_url, deliveries_redeliver_failed, webhook_rotate
from inventory_alloc.admin_base import ServiceModelAdmin, delete_selected
from inventory_alloc.errors import InvalidInput


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https",
                         help_text=_("Where events are POSTed: https://… on a public address."))
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=EventType.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every type, types added later included."))

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "active")

    def clean_url(self) -> str:
        """Check the URL by the service's rule (http(s), a public address), so a refusal shows on the field."""
        try:
            return check_url(self.cleaned_data["url"])
        except InvalidInput as error:
            raise forms.ValidationError(error.message) from None


def secret_message(endpoint: WebhookEndpoint, *, rotated: bool) -> str:
    """Return the one message that shows an endpoint's new signing secret."""
    if rotated:
        until = formats.localize(timezone.localtime(endpoint.previous_secret_expires_at))
        text = gettext("New signing secret of %(url)s (the old one keeps signing too until %(until)s):") % {
            "url": endpoint.url, "until": until}
    else:
        text = gettext("Signing secret of %(url)s:") % {"url": endpoint.url}
    return format_html('{} <code class="webhook-secret">{}</code> <strong>{}</strong>', text, endpoint.secret,
                       gettext("Copy it now: it is not shown again."))


@admin.action(description=_("Send failed deliveries again"), permissions=["change"])
def redeliver_failed(modeladmin, request, queryset):
    """Send every failed delivery of the selected endpoints again, from the first attempt."""
    endpoints = list(queryset.order_by("pk"))
    count = sum(deliveries_redeliver_failed(endpoint=endpoint, user=request.user) for endpoint in endpoints)
    if not count:
        modeladmin.message_user(request, gettext("The selected endpoints have no failed deliveries; nothing was sent "
                                                 "again."), messages.WARNING)
        return None
    text = ngettext("%(count)s failed delivery will be sent again.", "%(count)s failed deliveries will be sent again.",
                    count) % {"count": count}
    if any(not endpoint.active for endpoint in endpoints):
        text += " " + gettext("Those of endpoints that are not active wait until the endpoint is active again.")
    modeladmin.message_user(request, text, messages.SUCCESS)
    return None


def _count(status: str) -> Coalesce:
    deliveries = Delivery.objects.filter(endpoint=OuterRef("pk"), status=status).order_by()
    return Coalesce(Subquery(deliveries.values("endpoint").annotate(n=Count("id")).values("n")), Value(0))


class WebhookEndpointAdmin(ServiceModelAdmin):
    """Webhook endpoints; the change page has "Rotate secret", the deliveries by status and, once the
    dispatcher disabled the endpoint, a banner saying why."""

    writes = WEBHOOK_WRITES
    form = WebhookEndpointForm
    change_form_template = "admin/allocation/webhookendpoint/change_form.html"
    actions = [delete_selected, redeliver_failed]
    list_display = ("url", "description", "active", "subscribed", "failing_since", "pending", "failed")
    list_filter = ("active",)
    search_fields = ("url", "description")
    status_fields = ("deliveries_by_status", "disabled_reason", "failing_since", "previous_secret_expires_at",
                     "created_by", "created_at", "updated_at")
    readonly_fields = status_fields

    def get_fieldsets(self, request, obj=None):
        main = (None, {"fields": ("url", "description", "events", "active")})
        return (main,) if obj is None else (main, (_("Deliveries and status"), {"fields": self.status_fields}))

    def get_queryset(self, request) -> QuerySet:
        return super().get_queryset(request).select_related("created_by").annotate(
            pending_count=_count(DeliveryStatus.PENDING), failed_count=_count(DeliveryStatus.FAILED))

    @admin.display(description=_("receives"))
    def subscribed(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events) if endpoint.events else gettext("every type")

    @admin.display(description=_("pending"), ordering="pending_count")
    def pending(self, endpoint: WebhookEndpoint) -> int:
        return endpoint.pending_count

    @admin.display(description=_("failed"), ordering="failed_count")
    def failed(self, endpoint: WebhookEndpoint) -> int:
        return endpoint.failed_count

    @admin.display(description=_("deliveries"))
    def deliveries_by_status(self, endpoint: WebhookEndpoint) -> str:
        counts = dict(Delivery.objects.filter(endpoint=endpoint).order_by().values_list("status")
                      .annotate(n=Count("id")))
        url = f"{reverse('admin:allocation_delivery_changelist')}?endpoint__id__exact={endpoint.pk}"
        by_status = format_html_join(" · ", '<a href="{}&amp;status__exact={}">{}: {}</a>', (
            (url, status, label, counts.get(status, 0)) for status, label in DeliveryStatus.choices))
        return format_html('<a href="{}" id="endpoint-deliveries">{}</a> ({}) — {}', url, gettext("All deliveries"),
                           sum(counts.values()), by_status)

    def response_add(self, request, obj, post_url_continue=None) -> HttpResponse:
        response = super().response_add(request, obj, post_url_continue)
        self.message_user(request, secret_message(obj, rotated=False), messages.WARNING)
        return response

    def get_urls(self):
        rotate = self.admin_site.admin_view(self.rotate_view)
        return [path("<path:object_id>/rotate/", rotate, name="allocation_webhookendpoint_rotate"), *super().get_urls()]

    def rotate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Give the endpoint a new signing secret (the "Rotate secret" button: POST), and show it once."""
        endpoint = self.get_object(request, unquote(object_id))
        if endpoint is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        if request.method == "POST":
            rotated = webhook_rotate(endpoint=endpoint, user=request.user)  # the service enters it in the history
            self.message_user(request, secret_message(rotated, rotated=True), messages.WARNING)
        return HttpResponseRedirect(self.object_url(endpoint.pk))

    def get_deleted_objects(self, objs, request):
        """Say what a delete takes with it in counts: an endpoint may have millions of deliveries."""
        endpoints = list(objs)
        ids = [endpoint.pk for endpoint in endpoints]
        listed = [format_html('{}: <a href="{}">{}</a>', capfirst(self.opts.verbose_name), self.object_url(e.pk), e)
                  for e in endpoints]
        counts = {
            self.opts.verbose_name_plural: len(endpoints),
            Delivery._meta.verbose_name_plural: Delivery.objects.filter(endpoint_id__in=ids).count(),
            DeliveryAttempt._meta.verbose_name_plural: DeliveryAttempt.objects.filter(
                delivery__endpoint_id__in=ids).count(),
        }
        return listed, counts, set(), []


def register(site: admin.AdminSite) -> None:
    """Register the webhook endpoints' admin on `site`."""
    if not site.is_registered(WebhookEndpoint):
        site.register(WebhookEndpoint, WebhookEndpointAdmin)
