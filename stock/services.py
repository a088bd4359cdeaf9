"""Services that write lots: edits never leave less than is allocated."""
from __future__ import annotations

from django.db import transaction

from allocation.domain import Conflict, LotOverAllocated
from allocation.selectors import lot_holders
from stock.models import Lot

_EDITABLE = {"reference", "item", "item_id", "quantity", "unit_cost", "received_on", "eta", "expires_on", "note"}


def lot_update(*, lot: Lot, user=None, **changes: object) -> Lot:
    """Change a lot's fields; refuse a quantity below what is allocated from it.

    The error names the orders holding the lot, so they can be released first.
    """
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = Lot.objects.select_for_update().get(pk=lot.pk)
        quantity = changes.get("quantity", locked.quantity)
        if quantity is not None and int(quantity) < locked.allocated_quantity:
            raise LotOverAllocated(locked.reference, locked.allocated_quantity, lot_holders(locked.pk))
        new_item = changes.get("item_id", getattr(changes.get("item"), "pk", locked.item_id))
        if new_item != locked.item_id and locked.allocation_results.exists():
            raise Conflict(f"Lot {locked.reference} has allocations; its item cannot change.", lot=locked.reference)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked.save()
    return locked


def lot_delete(*, lot: Lot, user=None) -> None:
    """Delete a lot that nothing was ever allocated from or named on a line."""
    with transaction.atomic():
        locked = Lot.objects.select_for_update().get(pk=lot.pk)
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
        locked.delete()
