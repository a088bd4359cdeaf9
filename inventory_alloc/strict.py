"""Strict input for the REST API: a request either does what it says or says why not.

- An unknown body field is a 400 naming it and the fields that exist.
- A read-only field is accepted only with its current value (so a client may PUT back what it
  GOT); any other value is a 400 saying how that value is changed.
- An unknown query parameter is a 400 naming it and the parameters that exist (filters,
  search, ordering, pagination and `format`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

import django_filters
from django import forms
from django.db import models
from django.db.models import QuerySet
from django_filters.widgets import SuffixedMultiWidget
from rest_framework import filters, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

READ_ONLY = "Read only: it cannot be changed through the API; leave it out or send its current value."


def _same(sent: object, current: object) -> bool:
    """Return whether a value sent back equals the value the API shows (decimals, dates and ids as text too)."""
    if sent == current:
        return True
    if sent is None or current is None or isinstance(sent, dict | list) or isinstance(current, dict | list):
        return False
    if str(sent) == str(current):
        return True
    try:
        return Decimal(str(sent)) == Decimal(str(current))
    except (InvalidOperation, ValueError):
        return False


class StrictFieldsMixin:
    # Refuse unknown fields and changed read-only fields (mix into a Serializer before it).
    # No docstring: the OpenAPI schema would show it as the description of every serializer.

    # Per read-only field: how its value is changed instead (e.g. status: use release/ or cancel/).
    read_only_hints: Mapping[str, str] = {}

    def current_representation(self, data: Mapping) -> Mapping | None:
        """Return what the API shows of the object this input changes, or None for a new object."""
        instance = getattr(self, "instance", None)
        if instance is None or isinstance(instance, QuerySet | list):
            return None
        cache = self.__dict__.setdefault("_current_representation", {})
        if "value" not in cache:
            cache["value"] = self.to_representation(instance)
        return cache["value"]

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = self.input_errors(data)
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)

    def input_errors(self, data: Mapping) -> dict[str, list[str]]:
        fields = self.fields
        writable = sorted(name for name, field in fields.items() if not field.read_only)
        errors: dict[str, list[str]] = {}
        current = None
        for key in data:
            field = fields.get(key)
            if field is None:
                errors[str(key)] = [f"Unknown field. Known fields: {', '.join(writable)}."]
                continue
            if not field.read_only:
                continue
            if current is None:
                current = self.current_representation(data) or {}
            if key not in current or not _same(data[key], current[key]):
                errors[key] = [self.read_only_hints.get(key, READ_ONLY)]
        return errors


def query_flag(request, name: str) -> bool:
    """Return a true/false query parameter (absent: false); any other value is a 400 naming it."""
    value = request.query_params.get(name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise ValidationError({name: ['Use "true" or "false".']})
    return value == "true"


def filter_parameters(filterset_class) -> set[str]:
    """Return the query parameters a FilterSet reads (range filters read `<name>_after` and `<name>_before`)."""
    names: set[str] = set()
    if filterset_class is None:
        return names
    for name, declared in filterset_class.base_filters.items():
        widget = declared.field.widget
        if isinstance(widget, SuffixedMultiWidget):
            names.update(f"{name}_{suffix}" if suffix else name for suffix in widget.suffixes)
        else:
            names.add(name)
    return names


class StrictQueryParamsMixin:
    # Refuse query parameters the view does not read (mix into an APIView or a ViewSet).
    # No docstring: the OpenAPI schema would show it as the description of every view.

    # Parameters a view reads itself, beyond its filters, search, ordering and pagination.
    extra_query_params: Iterable[str] = ()

    def known_query_params(self) -> set[str]:
        known = {"format", *self.extra_query_params}
        backends = getattr(self, "filter_backends", ())
        for backend in backends:
            if isinstance(backend, type) and issubclass(backend, filters.SearchFilter) and getattr(self, "search_fields", None):
                known.add(backend.search_param)
            if isinstance(backend, type) and issubclass(backend, OrderingFilter):
                known.add(backend.ordering_param)
        if backends:
            known |= filter_parameters(getattr(self, "filterset_class", None))
        paginator = getattr(self, "paginator", None)
        if paginator is not None:
            known |= {name for name in (getattr(paginator, "page_query_param", None),
                                        getattr(paginator, "page_size_query_param", None),
                                        getattr(paginator, "offset_query_param", None)) if name}
        return known

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - self.known_query_params())
        if unknown:
            known = ", ".join(sorted(self.known_query_params()))
            raise ValidationError({name: [f"Unknown query parameter. Known parameters: {known}."] for name in unknown})
        repeated = sorted(name for name in request.query_params if len(request.query_params.getlist(name)) > 1)
        if repeated:  # every parameter takes one value: the last one must not win silently
            raise ValidationError({name: ["Give this parameter once."] for name in repeated})
        empty = sorted(name for name, value in request.query_params.items()
                       if value == "" and name not in self.text_query_params())
        if empty:  # a date, a number, a choice or true/false: empty is none of them
            raise ValidationError({name: ["Give a value, or leave the parameter out."] for name in empty})

    def text_query_params(self) -> set[str]:
        """Return the parameters that take any text (where an empty value is a value)."""
        filterset = getattr(self, "filterset_class", None)
        texts = {name for name, declared in (filterset.base_filters.items() if filterset else ())
                 if isinstance(declared, django_filters.CharFilter)}
        return texts | {"search"}


# --- JSON values of the right type only ------------------------------------------------------------
# DRF coerces: "5" is taken for 5, "true" and 1 for true, 5 for "5", "2026-1-5" for a date. The schema says
# which JSON type each field has; a value of another type is a 400 naming the field, so what the API
# accepts is exactly what its OpenAPI schema describes.

class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "A whole number is required (a JSON number, not text)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(StrictCharField, serializers.EmailField):
    pass


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictDateField(serializers.DateField):
    default_error_messages = {"invalid": "Date has wrong format. Use YYYY-MM-DD."}

    def to_internal_value(self, value):
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


class StrictDecimalField(serializers.DecimalField):
    """A decimal as a JSON string ("12.5000") or number (12.5); never true/false or a list."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSlugRelatedField(serializers.SlugRelatedField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


STRICT_FIELDS = {
    models.BooleanField: StrictBooleanField,
    models.CharField: StrictCharField,
    models.TextField: StrictCharField,
    models.EmailField: StrictEmailField,
    models.DateField: StrictDateField,
    models.DecimalField: StrictDecimalField,
    models.IntegerField: StrictIntegerField,
    models.PositiveIntegerField: StrictIntegerField,
    models.PositiveBigIntegerField: StrictIntegerField,
    models.BigIntegerField: StrictIntegerField,
    models.AutoField: StrictIntegerField,
    models.BigAutoField: StrictIntegerField,
}


class SearchFilter(filters.SearchFilter):
    """DRF's search, documented in the schema only for views that search (`search_fields`)."""

    def get_schema_operation_parameters(self, view):
        return super().get_schema_operation_parameters(view) if getattr(view, "search_fields", None) else []


# The bases carry no docstring: the OpenAPI schema would show it as every subclass's description.
class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    # A ModelSerializer with strict input: its fields take JSON values of their own type only.
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping, **STRICT_FIELDS}
    serializer_related_field = StrictPrimaryKeyRelatedField
    serializer_choice_field = StrictChoiceField


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass  # a plain Serializer (request parameters) with strict input


# --- query filters of the right type only -----------------------------------------------------------
# django-filter reads dates in the locale's formats ("10/25/2026") and ignores a boolean it cannot read;
# the schema says YYYY-MM-DD and true/false, and anything else is a 400 naming the parameter.

class IsoDateField(forms.DateField):
    input_formats = ["%Y-%m-%d"]


class IsoDateRangeField(django_filters.fields.DateRangeField):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields = (IsoDateField(required=False), IsoDateField(required=False))


class TrueFalseField(forms.Field):
    default_error_messages = {"invalid": 'Use "true" or "false".'}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value not in ("true", "false"):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value == "true"


class DateFilter(django_filters.DateFilter):
    field_class = IsoDateField


class DateFromToRangeFilter(django_filters.DateFromToRangeFilter):
    field_class = IsoDateRangeField


class BooleanFilter(django_filters.BooleanFilter):
    field_class = TrueFalseField
