"""The back office's admin site: the product's name in its header, its apps in the order a clerk works.

`inventory_alloc.apps.BackOfficeAdminConfig` makes it Django's default site, so every `admin.site.register`,
admin URL, app label and permission stays as it was; only the index and the sidebar read differently. It is an
Unfold site (the theme, django-unfold): `settings.UNFOLD` points the sidebar at `navigation` and the pages at
`stylesheet`.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.templatetags.static import static
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from unfold.sites import UnfoldAdminSite


@dataclass(frozen=True)
class Section:
    """One app as the index and the sidebar show it: its label, the name shown (None: its own), its models in order."""

    app_label: str
    name: str | Promise | None
    models: tuple[str, ...]


# A clerk's day: take the orders and payments, receive the stock, allocate and follow what was sent. Apps not
# named here come next (alphabetically), and the users and groups last; models not named come after the named.
SECTIONS = (
    Section("orders", _("Sales"), ("Customer", "Order", "Payment")),
    Section("stock", None, ("Item", "Lot")),
    Section("allocation", None, ("AllocationRun", "AllocationResult", "ClosedPeriod", "Event", "WebhookEndpoint",
                                 "Delivery")),
)
LAST = ("auth",)


def app_rank(app_label: str) -> int:
    """Return where an app goes: the sections in order, then the apps not named, then the LAST ones."""
    first = [section.app_label for section in SECTIONS]
    if app_label in first:
        return first.index(app_label)
    if app_label in LAST:
        return len(first) + 1 + LAST.index(app_label)
    return len(first)


class BackOfficeSite(UnfoldAdminSite):
    site_header = _("Inventory allocation")
    site_title = _("Inventory allocation")
    index_title = _("Dashboard")

    def get_app_list(self, request, app_label=None):
        """Return the apps in SECTIONS' order, each with its section's name and models in order."""
        sections = {section.app_label: section for section in SECTIONS}
        app_list = super().get_app_list(request, app_label)  # alphabetical: the order among the apps not named
        for app in app_list:
            section = sections.get(app["app_label"])
            if section is None:
                continue
            if section.name is not None:
                app["name"] = section.name
            order = {name: rank for rank, name in enumerate(section.models)}
            app["models"].sort(key=lambda model: order.get(model["object_name"], len(order)))
        return sorted(app_list, key=lambda app: app_rank(app["app_label"]))


# Each model's icon in the sidebar (a Material Symbols name: the font ships with Unfold, nothing is fetched).
ICONS = {
    "Customer": "groups", "Order": "receipt_long", "Payment": "payments",
    "Item": "category", "Lot": "inventory",
    "AllocationRun": "play_circle", "AllocationResult": "fact_check", "ClosedPeriod": "event_available",
    "Event": "notifications", "WebhookEndpoint": "webhook", "Delivery": "send",
    "Group": "group", "User": "person", "OutstandingToken": "key", "BlacklistedToken": "block",
}


def navigation(request) -> list[dict]:
    """Return the sidebar: the dashboard, then each app the user may see, in SECTIONS' order, with its models.

    It reads the site's own app list, so a user sees exactly the models the index shows them."""
    site = admin.site
    groups: list[dict] = [{"items": [{"title": _("Dashboard"), "icon": "dashboard", "link": reverse("admin:index"),
                                      "active": request.path == reverse("admin:index")}]}]
    for app in site.get_app_list(request):
        items = [{"title": model["name"], "icon": ICONS.get(model["object_name"], "table_rows"),
                  "link": model["admin_url"]} for model in app["models"] if model.get("admin_url")]
        if items:
            groups.append({"title": app["name"], "separator": True, "items": items})
    return groups


def stylesheet(request) -> str:
    """Return the back office's stylesheet: its own pages' tables and figures, and the lists' compact columns."""
    return static("backoffice/backoffice.css")
