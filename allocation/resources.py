"""CSV/Excel export of allocation results and runs (the admin's Export buttons)."""
from __future__ import annotations

from import_export import fields

from allocation.models import AllocationResult, AllocationRun
from inventory_alloc.imports import PlainNumbersResource


class AllocationResultResource(PlainNumbersResource):
    run = fields.Field(attribute="run_id", column_name="run")
    order = fields.Field(attribute="order__order_number", column_name="order_number")
    item = fields.Field(attribute="item__item_code", column_name="item_code")
    lot = fields.Field(attribute="lot__reference", column_name="lot")
    allocated_price = fields.Field(attribute="allocated_price", column_name="amount")

    class Meta:
        model = AllocationResult
        fields = ("id", "run", "order", "order_line", "item", "lot", "allocated_quantity", "unit_cost", "allocated_price",
                  "allocation_date", "method", "cost_final", "provisional_unit_cost", "provisional_price", "released_at")


class AllocationRunResource(PlainNumbersResource):
    started_by = fields.Field(attribute="started_by__username", column_name="started_by")

    class Meta:
        model = AllocationRun
        fields = ("id", "method", "policy", "as_of", "allow_partial", "allow_inbound", "status", "started_by", "started_at",
                  "finished_at", "orders_considered", "orders_fully_allocated", "orders_partly_allocated",
                  "orders_not_allocated", "allocated_quantity", "allocated_amount", "error")
