"""Why a pick was made (`allocation.explain`), in one line, for each method and policy (pure, no database)."""
from datetime import date
from decimal import Decimal

import pytest

from allocation.domain import Share
from allocation.explain import Basis, PickFacts, explain

D = Decimal
AS_OF = date(2026, 1, 25)


def facts(method="FIFO", lot="L1", received=date(2026, 1, 5), eta=None, expires=None, cost="10.0000", final=True,
          basis=None, share=None) -> PickFacts:
    return PickFacts(method, AS_OF, lot, received, eta, expires, D(cost), final, "2026-01", basis, share)


@pytest.mark.parametrize(("given", "said"), [
    (facts(), "FIFO: oldest lot in stock (L1, received 2026-01-05); the lot's cost 10.0000"),
    (facts("LIFO", "L3", date(2026, 1, 20), cost="11.5000"),
     "LIFO: newest lot in stock (L3, received 2026-01-20); the lot's cost 11.5000"),
    (facts("FIFO", "L4", None, eta=date(2026, 2, 10), cost="12.0000"),
     "FIFO: inbound after in-stock ran out (L4, ETA 2026-02-10); the lot's cost 12.0000"),
    (facts("FEFO", expires=date(2026, 3, 1)),
     "FEFO: first to expire, then oldest (L1, received 2026-01-05, expires 2026-03-01); the lot's cost 10.0000"),
    (facts("SPECIFIC", "L3", date(2026, 1, 20), cost="11.5000"),
     "SPECIFIC: the lot named on the line (L3, received 2026-01-20); the lot's cost 11.5000"),
    (facts("SPECIFIC", "L4", None, eta=date(2026, 2, 10)),
     "SPECIFIC: the lot named on the line, not received yet (L4, ETA 2026-02-10); the lot's cost 10.0000"),
    (facts("AVERAGE", cost="11.2000", basis=Basis(D("1680"), 150, ("L1", "L2"))),
     "AVERAGE: oldest lot in stock (L1, received 2026-01-05); average 11.2000 = 1680.00 / 150 over L1, L2"),
    (facts("AVERAGE", cost="11.2000", basis=Basis(D("1680"), 150, ("L1", "L2", "L3"), True)),
     "AVERAGE: oldest lot in stock (L1, received 2026-01-05); average 11.2000 = 1680.00 / 150 over L1, L2, L3 and more"),
    (facts("AVERAGE", "L4", None, eta=date(2026, 2, 10), cost="12.0000"),
     "AVERAGE: inbound after in-stock ran out (L4, ETA 2026-02-10); no stock to average: the lot's cost 12.0000"),
    (facts("MOVING_AVERAGE", cost="11.2000"),
     "MOVING_AVERAGE: oldest lot in stock (L1, received 2026-01-05); moving average in force on 2026-01-25: 11.2000"),
    (facts("TOTAL_AVERAGE", cost="11.2000", final=False),
     "TOTAL_AVERAGE: oldest lot in stock (L1, received 2026-01-05); total average of 2026-01: 11.2000, "
     "provisional until 2026-01 is closed"),
    (facts("TOTAL_AVERAGE", cost="11.5000"),
     "TOTAL_AVERAGE: oldest lot in stock (L1, received 2026-01-05); total average of 2026-01: 11.5000, final"),
    (facts("LAST_PURCHASE", cost="11.5000"),
     "LAST_PURCHASE: oldest lot in stock (L1, received 2026-01-05); last purchase price on 2026-01-25: 11.5000"),
    (facts(share=Share(30, 60, 100, 200)),
     "FIFO: oldest lot in stock (L1, received 2026-01-05); the lot's cost 10.0000; fair share: 30 of 60 asked (100 for 200)"),
])
def test_each_pick_is_explained_in_one_line(given, said):
    assert explain(given) == said


def test_a_basis_survives_its_json_form():
    basis = Basis(D("2800.0000"), 250, ("L1", "L2", "L3"), True)
    assert Basis.from_json(basis.as_json()) == basis and Basis.from_json(None) is None


@pytest.mark.parametrize("costs", ["4 places", "more places"])
def test_a_runs_bases_are_written_as_each_basis_says_itself_in_json(costs):
    """The JSON a run writes by hand for its lines' bases is what each Basis's own JSON form says."""
    import json

    from allocation.allocator import _ItemBook, bases_json, basis_of
    from allocation.domain import LotSnapshot

    cost = D("10.1234") if costs == "4 places" else D("10.12345")
    lots = [LotSnapshot(n, 1, 5, cost, date(2026, 1, n), reference=f"L{n}") for n in range(1, 6)]
    book = _ItemBook(lots, {lot.id for lot in lots}, track_value=True)
    assert (book.costs is not None) == (costs == "4 places")
    value = book.stock_value
    raw = {101: (value, 25, book, 0), 102: (-value, 25, book, 0), 103: (value // 3, 10, book, 3)}
    written = json.loads(bases_json(raw, {}))
    assert written == {str(line): basis_of(basis).as_json() for line, basis in raw.items()}
    assert written["101"][2:] == [["L1", "L2", "L3"], True] and written["103"][2:] == [["L4", "L5"], False]
