"""Services that write items and lots. Every door (admin, import, API, commands) writes through them.

An item that lots refer to is not deleted (deactivate it instead). The rules that other apps hold
about items and lots (a lot's quantity never goes below what is allocated from it, a lot named on
order lines keeps its item, ...) are lent to these services through `item_extensions` and
`lot_extensions` (see `inventory_alloc.records.Extensions`), so stock imports neither orders nor
allocation.
"""
from __future__ import annotations

from django.db import transaction

from inventory_alloc.errors import Conflict
from inventory_alloc.records import (
    Extensions,
    Writes,
    record_apply,
    record_create,
    record_delete,
    record_lock,
    refuse_unknown,
)
from stock.models import Item, Lot

ITEM_FIELDS = {"item_code", "name", "category", "unit_price", "unit", "is_active"}
LOT_FIELDS = {"reference", "item", "item_id", "quantity", "unit_cost", "received_on", "eta", "expires_on", "note"}

# What other apps are told of when it changes (allocation records a `lot.changed` event).
LOT_NOTICED = ("quantity", "received_on", "eta", "expires_on")

item_extensions = Extensions("stock.Item")  # refusal "delete" (item=, refused=)
# Refusals "change" (lot=, changes=) and "delete" (lot=); answer "holders" (lot=); notice "changed" (lot=, before=).
lot_extensions = Extensions("stock.Lot")


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
    """Delete an item no lot refers to (nor, as other apps say, anything else); otherwise 409: deactivate it."""
    with transaction.atomic():
        locked = record_lock(item)
        refused = (f"Item {locked.item_code} has lots or order lines and cannot be deleted; "
                   "mark it inactive instead.")
        if locked.lots.exists():
            raise Conflict(refused, item=locked.item_code)
        item_extensions.refuse("delete", item=locked, refused=refused)
        record_delete(locked, refused, dry_run=dry_run)


# --- lots -------------------------------------------------------------------------------

def lot_create(*, user=None, **fields: object) -> Lot:
    """Receive (or announce) a lot of an item; nothing is allocated from a new lot."""
    with transaction.atomic():
        return record_create(Lot, fields, LOT_FIELDS)


def lot_update(*, lot: Lot, user=None, **changes: object) -> Lot:
    """Change a lot's fields, unless another app refuses (allocation: not below what is allocated, its item
    kept while it has allocations; orders: its item kept while lines name it)."""
    refuse_unknown(changes, LOT_FIELDS)
    with transaction.atomic():
        locked = record_lock(lot)
        if "item" in changes:
            changes["item_id"] = getattr(changes.pop("item"), "pk", None)
        lot_extensions.refuse("change", lot=locked, changes=changes)
        before = {name: getattr(locked, name) for name in LOT_NOTICED}
        saved = record_apply(locked, changes)
        if any(getattr(saved, name) != value for name, value in before.items()):
            lot_extensions.tell("changed", lot=saved, before=before)
        return saved


def lot_delete(*, lot: Lot, user=None, dry_run: bool = False) -> None:
    """Delete a lot, unless another app refuses (allocation: allocated or with history; orders: named on lines)."""
    with transaction.atomic():
        locked = record_lock(lot)
        lot_extensions.refuse("delete", lot=locked)
        record_delete(locked, f"Other records refer to lot {locked.reference}; it cannot be deleted.", dry_run=dry_run)


def lot_holders(lot: Lot) -> list[str]:
    """Return the order numbers holding the lot (allocation answers it; nobody without it)."""
    return lot_extensions.ask("holders", [], lot=lot)


ITEM_WRITES = Writes("item", item_create, item_update, item_delete)
LOT_WRITES = Writes("lot", lot_create, lot_update, lot_delete)
