"""Strict input for the REST API: a request either does what it says or says why not.

- An unknown body field is a 400 naming it and the fields that exist.
- A read-only field is accepted only with its current value (so a client may PUT back what it
  GOT); any other value is a 400 saying how that value is changed.
- An unknown query parameter is a 400 naming it and the parameters that exist (filters,
  search, ordering, pagination and `format`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from django.db.models import QuerySet
from django_filters.widgets import SuffixedMultiWidget
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter

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


# The bases carry no docstring: the OpenAPI schema would show it as every subclass's description.
class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass  # a ModelSerializer with strict input


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass  # a plain Serializer (request parameters) with strict input


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
            if isinstance(backend, type) and issubclass(backend, SearchFilter) and getattr(self, "search_fields", None):
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
