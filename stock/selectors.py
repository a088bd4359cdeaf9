"""Stock figures, defined once: the items list, an item's page and the dashboard all sum lots this way.

For a day `today` (the business date):

- on hand: units received by today and not shipped (expired ones included: they are still on the shelf);
- allocated: units allocated to orders and not shipped yet (from any lot, inbound ones included);
- available: units of lots received by today and not expired that no order holds (what a run takes);
- inbound: units of lots not received by today (announced, with an ETA);
- next expiry: the earliest expiry, today or later, of a lot that still has units in the warehouse.
"""
from __future__ import annotations

from datetime import date

from django.db.models import F, Min, Q, Sum, Value
from django.db.models.functions import Coalesce


def stock_figures(today: date, prefix: str = "lots__") -> dict:
    """Return the aggregates of the stock figures over lots reached by `prefix` ("lots__" from an item, "" on lots)."""
    def field(name: str) -> F:
        return F(f"{prefix}{name}")

    def where(**lookups) -> Q:
        return Q(**{f"{prefix}{name}": value for name, value in lookups.items()})

    received = where(received_on__isnull=False, received_on__lte=today)
    usable = received & (where(expires_on__isnull=True) | where(expires_on__gte=today))
    zero = Value(0)
    return {
        "on_hand_units": Coalesce(Sum(field("quantity") - field("shipped_quantity"), filter=received), zero),
        "allocated_units": Coalesce(Sum(field("allocated_quantity") - field("shipped_quantity")), zero),
        "available_units": Coalesce(Sum(field("quantity") - field("allocated_quantity"), filter=usable), zero),
        "inbound_units": Coalesce(Sum(field("quantity"), filter=~received), zero),
        "next_expiry": Min(field("expires_on"), filter=where(expires_on__gte=today, quantity__gt=field("shipped_quantity"))),
    }
