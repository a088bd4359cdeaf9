"""Reads over orders that span rows."""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from orders.models import CENTS, OrderLine


def order_total(lines: Iterable[OrderLine]) -> Decimal:
    """Return the sum of the lines' subtotals (quantity × unit price, each rounded to cents)."""
    return sum((line.subtotal or Decimal(0) for line in lines), Decimal("0.00")).quantize(CENTS)
