"""The admin app with the back office's site as its default site (INSTALLED_APPS names it for django.contrib.admin)."""
from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    default_site = "inventory_alloc.admin_site.BackOfficeSite"

    def ready(self) -> None:
        super().ready()
        headers_once_per_list()


def headers_once_per_list() -> None:
    """Make the theme work out a list's column headers once per page instead of once per row.

    Unfold's `items_for_result` asks `result_headers(changelist)` for every row (it labels each cell for small
    screens), so a page of 100 rows computed its headers 101 times: some 40 ms of a list page at 100,000 orders
    (bench/admin_pages.py). The headers depend on the changelist only, so the first answer is kept on it.
    """
    from unfold.templatetags import unfold_list

    compute = getattr(unfold_list.result_headers, "computes", unfold_list.result_headers)

    def result_headers(changelist):
        headers = changelist.__dict__.get("_headers_once")
        if headers is None:
            headers = changelist.__dict__["_headers_once"] = list(result_headers.computes(changelist))
        return iter(headers)

    result_headers.computes = compute
    unfold_list.result_headers = result_headers
