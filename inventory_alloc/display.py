"""How the back office shows numbers, money and dates: one place, so every page reads the same.

Quantities get thousands separators; money is shown with the decimals of the `CURRENCY` setting
(JPY: none, USD and EUR: 2; storage keeps its own precision, 2 places for amounts and 4 for unit costs);
unit costs keep their 4 places; dates use the language's short date format (`inventory_alloc.formats`).
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.formats import date_format, number_format

# Decimals shown for an amount of each currency (ISO 4217 minor units); any other currency shows 2.
CURRENCY_DECIMALS = {"JPY": 0, "KRW": 0, "VND": 0, "USD": 2, "EUR": 2, "GBP": 2, "CNY": 2, "TWD": 0}
EMPTY = "–"


def currency_decimals() -> int:
    return CURRENCY_DECIMALS.get(settings.CURRENCY, 2)


def number(value: int | None) -> str:
    """A quantity with thousands separators: 1497725 → "1,497,725"."""
    return EMPTY if value is None else number_format(value, force_grouping=True)


def money(value: Decimal | int | None) -> str:
    """An amount in the configured currency's decimals, rounded half up: JPY 52060179.09 → "52,060,179"."""
    if value is None:
        return EMPTY
    places = currency_decimals()
    shown = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return number_format(shown, decimal_pos=places, force_grouping=True)


def signed_money(value: Decimal | int | None) -> str:
    """A difference of amounts with its sign: "+105", "-45", "0" (JPY)."""
    if value is None:
        return EMPTY
    shown = money(value)
    return shown if shown.lstrip("0,.") == "" or shown.startswith("-") else f"+{shown}"


def unit_cost(value: Decimal | None) -> str:
    """A unit cost with its 4 places and thousands separators: 1234.5 → "1,234.5000"."""
    return EMPTY if value is None else number_format(value, decimal_pos=4, force_grouping=True)


def short_date(value: date | None) -> str:
    return date_format(value, "SHORT_DATE_FORMAT") if value else EMPTY
