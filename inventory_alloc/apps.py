"""The admin app with the back office's site as its default site (INSTALLED_APPS names it for django.contrib.admin)."""
from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    default_site = "inventory_alloc.admin_site.BackOfficeSite"
