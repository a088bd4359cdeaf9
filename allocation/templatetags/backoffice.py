"""Template tags of the back office: the dashboard on the admin index, and number, money and date filters."""
from django import template
from django.utils.translation import gettext

from allocation.dashboard import dashboard
from allocation.domain import REASONS
from inventory_alloc import display

register = template.Library()


@register.inclusion_tag("admin/backoffice/dashboard.html", takes_context=True)
def backoffice_dashboard(context) -> dict:
    """Render the dashboard for staff who may view lots and orders (nothing for the others)."""
    user = context["request"].user
    if not (user.has_perm("stock.view_lot") and user.has_perm("orders.view_order")):
        return {"visible": False}
    return {"visible": True, "can_close_period": user.has_perm("allocation.run_allocation"), **dashboard()}


# How numbers, money and dates read on every back-office page (`inventory_alloc.display`).
register.filter("number", display.number)
register.filter("money", display.money)
register.filter("signed_money", display.signed_money)
register.filter("unit_cost", display.unit_cost)
register.filter("short_date", display.short_date)

@register.filter
def reason(text: str) -> str:
    """Say a stored reason (`allocation.domain.REASONS`) in the page's language; any other text stays as it is."""
    return gettext(text) if text in REASONS else text
