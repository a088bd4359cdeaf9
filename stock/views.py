"""API views of items and lots: lot edits and deletes go through the stock services."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets

from stock.filters import ItemFilter, LotFilter
from stock.models import Item, Lot
from stock.serializers import InventorySerializer, ItemSerializer, LotSerializer
from stock.services import lot_delete, lot_update


class ItemViewSet(viewsets.ModelViewSet):
    """Items of the item master. `search` looks in the code and the name."""

    queryset = Item.objects.order_by("item_code")
    serializer_class = ItemSerializer
    filterset_class = ItemFilter
    search_fields = ["item_code", "name"]


class LotViewSet(viewsets.ModelViewSet):
    """Lots (receipts). Shrinking or deleting a lot below what is allocated answers 409 naming the orders."""

    queryset = Lot.objects.select_related("item").order_by("item__item_code", "received_on", "id")
    serializer_class = LotSerializer
    filterset_class = LotFilter
    search_fields = ["reference", "item__item_code"]

    def perform_update(self, serializer: LotSerializer) -> None:
        serializer.instance = lot_update(lot=serializer.instance, user=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance: Lot) -> None:
        lot_delete(lot=instance, user=self.request.user)


@extend_schema(tags=["inventories"])
class InventoryViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       viewsets.GenericViewSet):
    """Lots in the original design's flat shape: POST item_code, quantity, receipt_date, unit_price."""

    queryset = Lot.objects.select_related("item").order_by("-id")
    serializer_class = InventorySerializer
    filterset_class = LotFilter
