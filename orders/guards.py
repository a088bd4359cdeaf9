"""Orders' rules on items and lots, lent to the stock services (registered by `OrdersConfig.ready`; see
`inventory_alloc.records.Extensions`): a lot named on order lines keeps its item and is not deleted; an
item that order lines name is not deleted."""
from __future__ import annotations

from inventory_alloc.errors import Conflict
from orders.models import OrderLine
from stock.models import Item, Lot
from stock.services import item_extensions, lot_extensions


@lot_extensions.refusal("change")
def lot_named_on_lines_keeps_its_item(*, lot: Lot, changes: dict) -> None:
    if changes.get("item_id", lot.item_id) == lot.item_id:
        return
    naming = sorted(set(OrderLine.objects.filter(lot=lot).values_list("order__order_number", flat=True)))
    if naming:
        raise Conflict(
            f"Lot {lot.reference} is named on lines of orders {', '.join(naming[:20])}; its item cannot "
            "change (a line may only name a lot of its own item).", lot=lot.reference, orders=naming,
        )


@lot_extensions.refusal("delete")
def lot_named_on_lines_stays(*, lot: Lot) -> None:
    if OrderLine.objects.filter(lot=lot).exists():
        raise Conflict(f"Lot {lot.reference} is named on order lines.", lot=lot.reference)


@item_extensions.refusal("delete")
def item_on_order_lines_stays(*, item: Item, refused: str) -> None:
    if OrderLine.objects.filter(item=item).exists():
        raise Conflict(refused, item=item.item_code)
