"""Forms of the back office: the allocation parameters and the period to close."""
from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allocation.models import Method, Policy
from inventory_alloc.dates import SANE_DATE


class AllocateForm(forms.Form):
    """The parameters of an allocation run started from the orders list."""

    method = forms.ChoiceField(label=_("Method"), choices=Method.choices, initial=Method.FIFO)
    policy = forms.ChoiceField(label=_("Policy"), choices=Policy.choices, initial=Policy.ORDER_DATE)
    as_of = forms.DateField(
        label=_("As of"), required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=SANE_DATE,
        help_text=_("The allocation date; empty means today. It cannot be in the future."),
    )
    allow_partial = forms.BooleanField(
        label=_("Allow partial"), required=False, initial=True,
        help_text=_("An order may be left partly allocated."),
    )
    allow_inbound = forms.BooleanField(
        label=_("Allow inbound"), required=False, initial=True,
        help_text=_("Lots not received yet may be allocated, after every lot in stock."),
    )

    def run_parameters(self) -> dict:
        """Return the cleaned fields as keyword arguments of `allocation_run`."""
        data = self.cleaned_data
        return {
            "method": data["method"], "policy": data["policy"], "as_of": data["as_of"] or None,
            "allow_partial": data["allow_partial"], "allow_inbound": data["allow_inbound"],
        }


def previous_period() -> str:
    """Return last month as YYYY-MM: the period usually closed next."""
    first = timezone.localdate().replace(day=1)
    return f"{first - timedelta(days=1):%Y-%m}"


class PeriodCloseForm(forms.Form):
    period = forms.CharField(
        label=_("Period"), max_length=7, initial=previous_period,
        widget=forms.TextInput(attrs={"placeholder": "YYYY-MM", "size": 8}),
        help_text=_("The month to close, as YYYY-MM. It must have ended and not be closed yet."),
    )
