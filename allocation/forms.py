"""Forms of the back office: the allocation parameters and the period to close."""
from __future__ import annotations

from dataclasses import MISSING, Field
from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminDateWidget

from allocation.methods import DEFAULT_METHOD
from allocation.parameters import CHOICES, PARAMETERS, RunRequest
from inventory_alloc.dates import SANE_DATE


def _parameter_field(parameter: Field) -> forms.Field:
    """Return the form field of a run parameter, from its declaration (`allocation.parameters.RunRequest`)."""
    meta = parameter.metadata
    options = {"label": meta["label"], "help_text": meta["help"]}
    if meta["kind"] == "choice":
        initial = DEFAULT_METHOD if parameter.default is MISSING else parameter.default
        return forms.ChoiceField(choices=CHOICES[meta["choices"]](), initial=initial, **options)
    if meta["kind"] == "date":
        # the admin's calendar (the theme's look): it reads and writes the page's date format, as the change forms do
        return forms.DateField(required=False, widget=UnfoldAdminDateWidget, validators=SANE_DATE, **options)
    return forms.BooleanField(required=False, initial=parameter.default, **options)


class AllocateFormBase(forms.Form):
    """The parameters of an allocation run started from the orders list (its fields: `AllocateForm`)."""

    def run_request(self, orders: list[int], *, dry_run: bool) -> RunRequest:
        """Return the run the page asks for, over `orders`."""
        return RunRequest.of(orders=orders, dry_run=dry_run, **self.cleaned_data)


AllocateForm = type("AllocateForm", (AllocateFormBase,), {
    "__module__": __name__,
    **{parameter.name: _parameter_field(parameter) for parameter in PARAMETERS if parameter.metadata["on_form"]},
})


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
