"""API views of items and lots: every write goes through the stock services."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins

from inventory_alloc.viewsets import GenericViewSet, ServiceModelViewSet, ServiceViewSetMixin
from stock.filters import ItemFilter, LotFilter
from stock.models import Item, Lot
from stock.serializers import InventorySerializer, ItemSerializer, LotSerializer
from stock.services import ITEM_WRITES, LOT_WRITES


class ItemViewSet(ServiceModelViewSet):
    """Items of the item master. `search` looks in the code and the name."""

    queryset = Item.objects.order_by("item_code")
    serializer_class = ItemSerializer
    filterset_class = ItemFilter
    search_fields = ["item_code", "name"]
    writes = ITEM_WRITES


class LotViewSet(ServiceModelViewSet):
    """Lots (receipts). Shrinking or deleting a lot below what is allocated answers 409 naming the orders."""

    queryset = Lot.objects.select_related("item").order_by("item__item_code", "received_on", "id")
    serializer_class = LotSerializer
    filterset_class = LotFilter
    search_fields = ["reference", "item__item_code"]
    writes = LOT_WRITES


@extend_schema(tags=["inventories"])
class InventoryViewSet(ServiceViewSetMixin, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       GenericViewSet):
    """Lots in the original design's flat shape: POST item_code, quantity, receipt_date, unit_price."""

    queryset = Lot.objects.select_related("item").order_by("-id")
    serializer_class = InventorySerializer
    filterset_class = LotFilter
    writes = LOT_WRITES

    def perform_create(self, serializer: InventorySerializer) -> None:
        serializer.instance = self.reread(self.writes.create_with(serializer.receipt(), self.request.user))
