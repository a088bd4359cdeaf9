"""The API's base viewsets: strict query parameters, writes through the services, one answer shape.

A viewset names the services that write its model (`writes`, see
`inventory_alloc.records.Writes`); creating, changing and deleting call them,
so the API keeps the same rules as the admin, the imports and the commands.
After a write the object is read again through the viewset's own queryset,
so POST, PUT and PATCH answer exactly the shape GET does.
"""
from __future__ import annotations

from rest_framework import viewsets

from inventory_alloc.records import Writes
from inventory_alloc.strict import StrictQueryParamsMixin


# The bases carry no docstring: the OpenAPI schema would show it as every subclass's description.
class ReadOnlyViewSet(StrictQueryParamsMixin, viewsets.ReadOnlyModelViewSet):
    pass  # a read-only collection with strict query parameters


class GenericViewSet(StrictQueryParamsMixin, viewsets.GenericViewSet):
    pass  # a collection that picks its own mixins, with strict query parameters


class ServiceViewSetMixin:
    # Create, update and destroy through `writes`; answer with the object as GET shows it.
    # No docstring: the OpenAPI schema would show it as the description of every view.

    writes: Writes

    def reread(self, instance):
        return self.get_queryset().get(pk=instance.pk)

    def perform_create(self, serializer) -> None:
        instance = self.writes.create_with(dict(serializer.validated_data), self.request.user)
        serializer.instance = self.reread(instance)

    def perform_update(self, serializer) -> None:
        instance = self.writes.update_with(serializer.instance, dict(serializer.validated_data), self.request.user)
        serializer.instance = self.reread(instance)

    def perform_destroy(self, instance) -> None:
        self.writes.delete_with(instance, self.request.user)


class ServiceModelViewSet(ServiceViewSetMixin, StrictQueryParamsMixin, viewsets.ModelViewSet):
    pass  # a read-write collection whose writes go through the services
