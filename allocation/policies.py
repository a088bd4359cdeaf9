"""The allocation policies: in which order competing orders get scarce stock. Pure Python, no Django.

One registry, as for the methods (`allocation.methods`): a policy is a name, the data it needs beyond
the orders (`needs`), and a pure ranking. The service gathers what `needs` names, once per run, and
never asks which policy it runs. Ties always fall to the older order, then the lower order id.

- order_date: oldest order first.
- priority: highest priority first, then oldest.
- customer_score: best customer score first, then oldest. The score (0-100) weighs four parts, each a
  share from 0 to 1: performance (of the customer's order quantity allocated or cancelled, the share
  allocated), payment frequency (payments in the window relative to the customer who paid most
  often), credit adherence (payments paid on time among those paid or due) and stock availability
  (of the order's open quantity, the share that stock on hand covers now).
- fair_share (按分引当): a scarce item is shared pro rata between every line that wants it (`fair_quotas`);
  lines are served oldest order first, each taking exactly its quota. The allocator asks `rations`.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from allocation.domain import LineDemand, LotSnapshot, Share
from inventory_alloc.errors import InvalidInput

NEUTRAL = 0.5  # a part the customer has no history for
CUSTOMER_HISTORY = "customer_history"  # (performance, payment frequency, credit adherence) per customer id


class RankedOrder(Protocol):
    id: int
    order_date: date
    priority: int
    customer_id: int | None


@dataclass(frozen=True)
class PolicyInputs:
    """What a ranking may look at: the run's date, its demands and lots, and what the policy `needs`."""

    as_of: date
    demands: Mapping[int, Sequence[LineDemand]] = field(default_factory=dict)
    lots: Sequence[LotSnapshot] = ()
    weights: Mapping[str, float] = field(default_factory=dict)
    data: Mapping[str, Mapping] = field(default_factory=dict)


@dataclass(frozen=True)
class AllocationPolicy:
    """A policy: `key` ranks the orders; `needs` names the data it reads beyond them; with `rations`, a
    scarce item is shared by `fair_quotas` before the lines are served (it needs partial allocation and a
    method that picks lots itself)."""

    name: str
    key: Callable[[PolicyInputs], Callable[[RankedOrder], tuple]]
    needs: frozenset[str] = frozenset()
    rations: bool = False

    def rank(self, orders: Iterable[RankedOrder], inputs: PolicyInputs) -> list:
        return sorted(orders, key=self.key(inputs))


def weighted_score(weights: Mapping[str, float], performance: float, frequency: float, adherence: float,
                   availability: float) -> float:
    """Return the 0-100 score of the four parts, weighted."""
    total = sum(weights.values()) or 1
    return 100 * (
        weights["performance"] * performance + weights["payment_frequency"] * frequency
        + weights["credit_adherence"] * adherence + weights["stock_availability"] * availability
    ) / total


def open_quantity_coverage(lines: Iterable[tuple[int, int, int]], available_by_item: Mapping[int, int]) -> dict[int, float]:
    """Return, per key, the share of open quantity that stock on hand covers.

    `lines` holds (key, item_id, open quantity); the key is an order or a customer.
    """
    wanted: dict[int, int] = defaultdict(int)
    covered: dict[int, int] = defaultdict(int)
    for key, item_id, quantity in lines:
        if quantity <= 0:
            continue
        wanted[key] += quantity
        covered[key] += min(quantity, available_by_item.get(item_id, 0))
    return {key: covered[key] / wanted[key] for key in wanted}


def fair_quotas(lines: Iterable[tuple[int, int, int]], supply: Mapping[int, int]) -> dict[int, Share]:
    """Return the quota of every line of a scarce item (ALLOCATION.md, policy fair_share).

    `lines` holds (line id, item id, need) in serving order (oldest order first, then order id, then line
    id), which is also the order in which equal remainders get the units left over. `supply` is each item's
    quantity the method may pick. Items whose lines all fit (sum of needs <= supply) get no entry: every
    line takes its need. Otherwise line i gets floor(S * n_i / N) and the S - sum(quotas) units left over
    go one each to the largest remainders (S * n_i) mod N.
    """
    by_item: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for line_id, item_id, need in lines:
        if need > 0:
            by_item[item_id].append((line_id, need))
    shares: dict[int, Share] = {}
    for item_id, wanting in by_item.items():
        available = max(supply.get(item_id, 0), 0)
        demand = sum(need for _, need in wanting)
        if demand <= available:
            continue
        quotas, remainders = {}, []
        for position, (line_id, need) in enumerate(wanting):
            quotas[line_id], remainder = divmod(available * need, demand)
            remainders.append((-remainder, position, line_id))
        left = available - sum(quotas.values())
        for _, _, line_id in sorted(remainders)[:left]:
            quotas[line_id] += 1
        for line_id, need in wanting:
            shares[line_id] = Share(quotas[line_id], need, available, demand)
    return shares


def _by_order_date(inputs: PolicyInputs) -> Callable[[RankedOrder], tuple]:
    return lambda order: (order.order_date, order.id)


def _by_priority(inputs: PolicyInputs) -> Callable[[RankedOrder], tuple]:
    return lambda order: (-order.priority, order.order_date, order.id)


def _by_customer_score(inputs: PolicyInputs) -> Callable[[RankedOrder], tuple]:
    on_hand: dict[int, int] = defaultdict(int)
    for lot in inputs.lots:
        if lot.is_in_stock(inputs.as_of) and not lot.is_expired(inputs.as_of):
            on_hand[lot.item_id] += max(lot.available, 0)
    coverage = open_quantity_coverage(
        ((order_id, d.item_id, d.quantity) for order_id, lines in inputs.demands.items() for d in lines), on_hand,
    )
    history = inputs.data.get(CUSTOMER_HISTORY, {})

    def key(order: RankedOrder) -> tuple:
        parts = history.get(order.customer_id, (0.0, 0.0, 0.0)) if order.customer_id else (0.0, 0.0, 0.0)
        return (-weighted_score(inputs.weights, *parts, coverage.get(order.id, 0.0)), order.order_date, order.id)

    return key


REGISTRY: dict[str, AllocationPolicy] = {
    p.name: p
    for p in (
        AllocationPolicy("order_date", _by_order_date),
        AllocationPolicy("priority", _by_priority),
        AllocationPolicy("customer_score", _by_customer_score, needs=frozenset({CUSTOMER_HISTORY})),
        AllocationPolicy("fair_share", _by_order_date, rations=True),
    )
}
DEFAULT_POLICY = "order_date"


def get_policy(name: object) -> AllocationPolicy:
    """Return the policy registered under `name`, or raise InvalidInput naming the policies."""
    try:
        return REGISTRY[str(name)]
    except KeyError:
        raise InvalidInput(f'"{name}" is not a policy; use one of {", ".join(REGISTRY)}.', field="policy") from None
