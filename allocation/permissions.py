"""API permissions: Django model permissions, the right to run allocations and the right to ship."""
from rest_framework import permissions


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, with the view permission required to read."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class CanRunAllocation(permissions.BasePermission):
    """Allow users holding `allocation.run_allocation` (run, release, cancel, close)."""

    message = "You need the permission to run allocations (allocation.run_allocation)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("allocation.run_allocation"))


class CanViewRuns(permissions.BasePermission):
    """Allow users who may view allocation runs (a run's outcomes are part of the run)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("allocation.view_allocationrun"))


class CanShipOrders(permissions.BasePermission):
    """Allow users holding `allocation.ship_order` (the warehouse and allocator groups)."""

    message = "You need the permission to ship orders (allocation.ship_order)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("allocation.ship_order"))
