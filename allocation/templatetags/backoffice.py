"""Template tags of the back office: the dashboard on the admin index."""
from django import template

from allocation.dashboard import dashboard

register = template.Library()


@register.inclusion_tag("admin/backoffice/dashboard.html", takes_context=True)
def backoffice_dashboard(context) -> dict:
    """Render the dashboard for staff who may view lots and orders (nothing for the others)."""
    user = context["request"].user
    if not (user.has_perm("stock.view_lot") and user.has_perm("orders.view_order")):
        return {"visible": False}
    return {"visible": True, "can_close_period": user.has_perm("allocation.run_allocation"), **dashboard()}
