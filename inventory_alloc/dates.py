"""The range of dates the books accept: 2000-01-01 to 2100-12-31.

Outside it a date is a typing mistake (year 1, year 20260), and date arithmetic near the ends of Python's
calendar overflows (a 90-day payment window before year 1); every door refuses it with the same words.
"""
from __future__ import annotations

from datetime import date

from django.core.validators import MaxValueValidator, MinValueValidator

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
OUT_OF_RANGE = f"Enter a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}."

SANE_DATE = [MinValueValidator(EARLIEST, message=OUT_OF_RANGE), MaxValueValidator(LATEST, message=OUT_OF_RANGE)]


def is_sane(day: date) -> bool:
    return EARLIEST <= day <= LATEST
