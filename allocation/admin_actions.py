"""Admin actions on orders: each opens its page (see `allocation.admin_views`).

The actions need `allocation.run_allocation`: `get_actions` hides them from
staff without it, and the pages they post to answer 403.
"""
from __future__ import annotations

from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _

from allocation import admin_views
from allocation.forms import AllocateForm


class RunAllocationPermission:
    """Gives a ModelAdmin the `run_allocation` permission check used by `@admin.action`."""

    def has_run_allocation_permission(self, request) -> bool:
        return admin_views.can_run_allocation(request)


@admin.action(description=_("Allocate selected orders"), permissions=["run_allocation"])
def allocate_orders(modeladmin, request, queryset):
    selection = admin_views.selection_of(request)
    return admin_views.allocate_page(modeladmin, request, queryset, selection, AllocateForm())


@admin.action(description=_("Release allocations"), permissions=["run_allocation"])
def release_allocations(modeladmin, request, queryset):
    return admin_views.release_page(modeladmin, request, queryset, admin_views.selection_of(request))


@admin.action(description=_("Cancel orders"), permissions=["run_allocation"])
def cancel_orders(modeladmin, request, queryset):
    return admin_views.cancel_page(modeladmin, request, queryset, admin_views.selection_of(request))


ORDER_ACTIONS = [allocate_orders, release_allocations, cancel_orders]


def order_action_urls(model_admin) -> list:
    """Return the URLs the order action pages post to."""
    wrap = model_admin.admin_site.admin_view
    return [
        path("allocate/", wrap(lambda request: admin_views.allocate_view(model_admin, request)), name="orders_order_allocate"),
        path("release/", wrap(lambda request: admin_views.release_view(model_admin, request)), name="orders_order_release"),
        path("cancel/", wrap(lambda request: admin_views.cancel_view(model_admin, request)), name="orders_order_cancel"),
        path("<path:object_id>/release/",
             wrap(lambda request, object_id: admin_views.release_order_view(model_admin, request, object_id)),
             name="orders_order_release_one"),
    ]
