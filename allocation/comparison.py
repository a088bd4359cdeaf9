"""What-if: the same orders and the same stock under every method, side by side; nothing is written.

`methods_compare` makes one dry run per method (`allocation.services.execute`) over the same request, so each
method sees the same starting stock: a dry run consumes nothing, and on PostgreSQL the dry runs share one
REPEATABLE READ snapshot, so a run committed meanwhile cannot change the figures of only some methods. Of each
dry run it keeps per order the quantity and amount (its outcome rows) and drops the picks, so a comparison of
eight methods holds about one run's memory at a time.

FIFO is the baseline: it is always computed, and every figure carries its difference to FIFO's.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction

from allocation.domain import COST_PLACES
from allocation.methods import DEFAULT_METHOD, REGISTRY, get_method
from allocation.parameters import RunRequest
from allocation.policies import get_policy
from allocation.services import execute
from inventory_alloc.errors import InvalidInput

BASELINE = DEFAULT_METHOD  # FIFO: what every other method is compared with


@dataclass
class MethodFigures:
    """One method's dry run: its totals and, per order id, (quantity, amount)."""

    method: str
    quantity: int = 0
    amount: Decimal = Decimal("0.00")
    provisional: bool = False
    orders: dict[int, tuple[int, Decimal]] = field(default_factory=dict)


@dataclass
class Comparison:
    """The figures of every method compared, over the orders of the request (`numbers`: order id -> number)."""

    request: RunRequest
    figures: list[MethodFigures]
    numbers: dict[int, str]

    @property
    def baseline(self) -> MethodFigures:
        return next(f for f in self.figures if f.method == BASELINE)

    def method_rows(self) -> list[dict]:
        """Return per method its totals and the difference of its amount to FIFO's."""
        base = self.baseline.amount
        return [{"method": f.method, **figures(f.quantity, f.amount, base), "provisional": f.provisional}
                for f in self.figures]

    def order_rows(self, offset: int = 0, limit: int | None = None) -> list[dict]:
        """Return, for the orders in id order (from `offset`, at most `limit`), each method's quantity, amount,
        average unit cost and difference to FIFO's amount."""
        ids = sorted(self.numbers)[offset:None if limit is None else offset + limit]
        base = self.baseline.orders
        rows = []
        for order_id in ids:
            base_amount = base.get(order_id, (0, Decimal("0.00")))[1]
            methods = {}
            for method in self.figures:
                methods[method.method] = figures(*method.orders.get(order_id, (0, Decimal("0.00"))), base_amount)
            rows.append({"order": order_id, "order_number": self.numbers[order_id], "methods": methods})
        return rows


def figures(quantity: int, amount: Decimal, base: Decimal) -> dict:
    """Return a quantity and amount with their average unit cost and the amount's difference to `base` (FIFO's)."""
    return {"quantity": quantity, "amount": amount, "unit_cost": unit_cost(amount, quantity), "difference": amount - base}


def unit_cost(amount: Decimal, quantity: int) -> Decimal | None:
    """Return the average unit cost of an amount over a quantity (4 places, half up), None for no quantity."""
    return (amount / quantity).quantize(COST_PLACES, ROUND_HALF_UP) if quantity else None


def compared_methods(request: RunRequest, methods: Sequence[str] | None) -> list[str]:
    """Return the methods to compare, FIFO first: those named (each checked), or every method the policy
    applies to (a policy that rations scarce stock leaves out a method that takes only a named lot)."""
    if methods:
        names = [get_method(name).name for name in dict.fromkeys(methods)]
    else:
        rations = get_policy(request.policy).rations
        names = [name for name, spec in REGISTRY.items() if not (rations and spec.named_lot_only)]
    return [BASELINE] + [name for name in names if name != BASELINE]


def methods_compare(request: RunRequest, methods: Sequence[str] | None = None, user=None) -> Comparison:
    """Dry-run `request` under each of `methods` (default: all) over the same orders and stock; write nothing.

    `request.method` is ignored. Raises InvalidInput (naming the field) for a bad method or parameter.
    """
    try:
        names = compared_methods(request, methods)
    except InvalidInput as error:
        raise InvalidInput(error.message, field="methods") from None
    request = replace(request, dry_run=True).validated()
    requests = [replace(request, method=name).validated() for name in names]
    figures, numbers = [], {}
    nested = connection.in_atomic_block  # then the caller's transaction holds the reads together
    with transaction.atomic():
        if connection.vendor == "postgresql" and not nested:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for each in requests:
            report = execute(each.new_run(user))
            method = MethodFigures(each.method, report.run.allocated_quantity, report.run.allocated_amount,
                                   any(not pick.cost_final for pick in report.picks))
            for order_id, number, _status, quantity, amount, *_rest in report.outcome_rows:
                method.orders[order_id] = (quantity, amount)
                numbers[order_id] = number
            figures.append(method)
            del report
    return Comparison(requests[0], figures, numbers)

