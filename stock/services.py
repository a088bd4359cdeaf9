"""Services that write items and lots. Every door (admin, import, API, commands) writes through them.

A lot's quantity never goes below what is allocated from it, and a lot with
allocations keeps its item; an item or a lot that other records refer to is
not deleted (deactivate the item instead).
"""
from __future__ import annotations

from django.db import transaction

from allocation.domain import Conflict, LotOverAllocated
from allocation.selectors import lot_holders
from inventory_alloc.records import Writes, record_apply, record_create, record_delete, record_lock, refuse_unknown
from stock.models import Item, Lot

ITEM_FIELDS = {"item_code", "name", "category", "unit_price", "unit", "is_active"}
LOT_FIELDS = {"reference", "item", "item_id", "quantity", "unit_cost", "received_on", "eta", "expires_on", "note"}


# --- items ------------------------------------------------------------------------------

def item_create(*, user=None, **fields: object) -> Item:
    """Create an item of the item master."""
    with transaction.atomic():
        return record_create(Item, fields, ITEM_FIELDS)


def item_update(*, item: Item, user=None, **changes: object) -> Item:
    """Change an item's fields (its code too: lots, lines and results refer to it by id)."""
    refuse_unknown(changes, ITEM_FIELDS)
    with transaction.atomic():
        return record_apply(record_lock(item), changes)


def item_delete(*, item: Item, user=None, dry_run: bool = False) -> None:
    """Delete an item that no lot, order line or result refers to; otherwise 409: deactivate it instead."""
    with transaction.atomic():
        locked = record_lock(item)
        refused = (f"Item {locked.item_code} has lots or order lines and cannot be deleted; "
                   "mark it inactive instead.")
        if locked.lots.exists() or locked.order_lines.exists():
            raise Conflict(refused, item=locked.item_code)
        record_delete(locked, refused, dry_run=dry_run)


# --- lots -------------------------------------------------------------------------------

def lot_create(*, user=None, **fields: object) -> Lot:
    """Receive (or announce) a lot of an item; nothing is allocated from a new lot."""
    with transaction.atomic():
        return record_create(Lot, fields, LOT_FIELDS)


def lot_update(*, lot: Lot, user=None, **changes: object) -> Lot:
    """Change a lot's fields; refuse a quantity below what is allocated from it.

    The error names the orders holding the lot, so they can be released first.
    """
    refuse_unknown(changes, LOT_FIELDS)
    with transaction.atomic():
        locked = record_lock(lot)
        quantity = changes.get("quantity", locked.quantity)
        if quantity is not None and int(quantity) < locked.allocated_quantity:
            raise LotOverAllocated(locked.reference, locked.allocated_quantity, lot_holders(locked.pk))
        new_item = changes.get("item_id", getattr(changes.get("item"), "pk", locked.item_id))
        if new_item != locked.item_id:
            if locked.allocation_results.exists():
                raise Conflict(f"Lot {locked.reference} has allocations; its item cannot change.", lot=locked.reference)
            naming = sorted(set(locked.named_by_lines.values_list("order__order_number", flat=True)))
            if naming:
                raise Conflict(
                    f"Lot {locked.reference} is named on lines of orders {', '.join(naming[:20])}; its item cannot "
                    "change (a line may only name a lot of its own item).", lot=locked.reference, orders=naming,
                )
        return record_apply(locked, changes)


def lot_delete(*, lot: Lot, user=None, dry_run: bool = False) -> None:
    """Delete a lot that nothing was ever allocated from or named on a line."""
    with transaction.atomic():
        locked = record_lock(lot)
        if locked.allocated_quantity:
            raise LotOverAllocated(
                locked.reference, locked.allocated_quantity, lot_holders(locked.pk),
                f"Lot {locked.reference} is allocated to orders {', '.join(lot_holders(locked.pk))}; "
                "release them before deleting it.",
            )
        if locked.allocation_results.exists():
            raise Conflict(f"Lot {locked.reference} has allocation history and cannot be deleted.", lot=locked.reference)
        if locked.named_by_lines.exists():
            raise Conflict(f"Lot {locked.reference} is named on order lines.", lot=locked.reference)
        record_delete(locked, f"Other records refer to lot {locked.reference}; it cannot be deleted.", dry_run=dry_run)


ITEM_WRITES = Writes("item", item_create, item_update, item_delete)
LOT_WRITES = Writes("lot", lot_create, lot_update, lot_delete)
