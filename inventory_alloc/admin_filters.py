"""A list filter with a text box, for what has too many values for a list of links (customers, items)."""
from __future__ import annotations

from django.contrib import admin


class InputFilter(admin.SimpleListFilter):
    """A filter the clerk types into (`?<parameter_name>=<text>`); `filter(queryset, text)` applies it."""

    template = "admin/input_filter.html"

    def lookups(self, request, model_admin):
        return ((),)  # Django shows a filter only if it has lookups; the template draws a text box instead

    def choices(self, changelist):
        # The other filters and the search, kept as hidden fields of the box's form.
        kept = [(k, v) for k, values in changelist.get_filters_params().items() if k != self.parameter_name
                for v in (values if isinstance(values, list) else [values])]
        if changelist.query:
            kept.append(("q", changelist.query))
        yield {"kept": kept, "value": self.value() or "", "parameter": self.parameter_name,
               "clear_url": changelist.get_query_string(remove=[self.parameter_name])}

    def queryset(self, request, queryset):
        text = (self.value() or "").strip()
        return self.filter(queryset, text) if text else queryset

    def filter(self, queryset, text: str):
        raise NotImplementedError
