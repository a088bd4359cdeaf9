"""The registries decide: a method or a policy is one entry, and no other production code knows any by name.

Adding a method is its choice, its spec, a migration, its translation, its tests and its docs; these
tests prove it with a method and a policy defined here only (HIFO: highest cost first), and check
that no production module outside the registry and the model's choices names a method.
"""
import ast
import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from allocation import methods, policies
from allocation.methods import AllocationMethod, register
from allocation.models import AllocationResult, Method, Policy
from allocation.parameters import PARAMETERS, RunRequest
from allocation.policies import AllocationPolicy
from allocation.services import allocation_run

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("allocation", "orders", "stock", "inventory_alloc")
# Where a method's name may be written: its spec, the model's choices (labels, translated), migrations.
ALLOWED = {"allocation/methods.py", "allocation/models/runs.py"}
AS_OF = date(2026, 1, 25)


def named_methods(path: Path) -> list[str]:
    """Return the method names a module writes as string literals or as `Method.<NAME>`."""
    names = set(Method.values)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and node.value in names:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Method" \
                and node.attr in names:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} Method.{node.attr}")
    return found


def test_no_production_module_outside_the_registry_names_a_method():
    modules = [p for package in PRODUCTION for p in (ROOT / package).rglob("*.py")
               if "migrations" not in p.parts and str(p.relative_to(ROOT)) not in ALLOWED]
    assert modules
    assert [found for path in modules for found in named_methods(path)] == []


def test_the_policy_registry_and_the_policy_choices_agree():
    assert set(policies.REGISTRY) == set(Policy.values)


def _highest_cost_first(lot):
    return (-lot.unit_cost, lot.id)


@pytest.fixture
def hifo():
    """A ninth method, highest cost first at each lot's own cost, registered here and nowhere else."""
    spec = register(AllocationMethod("HIFO", _highest_cost_first))
    yield spec
    methods.REGISTRY.pop(spec.name)


def test_a_method_defined_in_a_test_is_one_registry_entry_and_is_costed_right(hifo, widget_example, books_balance):
    # when: the worked example, allocated with it
    report = allocation_run(method="HIFO", as_of=AS_OF)
    # then: the dearest in-stock lots first (L2 @13, L3 @11.5, then L1 @10), each pick at its lot's cost
    picks = [(r.order.order_number, r.lot.reference, r.allocated_quantity, r.unit_cost, r.allocated_price)
             for r in AllocationResult.objects.filter(run=report.run).order_by("id")]
    assert picks == [
        ("O1", "L2", 50, Decimal("13.0000"), Decimal("650.00")),
        ("O1", "L3", 70, Decimal("11.5000"), Decimal("805.00")),
        ("O2", "L3", 30, Decimal("11.5000"), Decimal("345.00")),
        ("O2", "L1", 30, Decimal("10.0000"), Decimal("300.00")),
    ]
    assert report.run.allocated_amount == Decimal("2100.00") and report.run.method == "HIFO"
    books_balance()


def test_a_policy_defined_in_a_test_is_one_registry_entry(widget_example, monkeypatch):
    # given: newest order first
    newest = AllocationPolicy("newest_first", lambda inputs: lambda order: (-order.order_date.toordinal(), order.id))
    monkeypatch.setitem(policies.REGISTRY, newest.name, newest)
    # when: stock for O2 (60) and half of O1 only
    report = allocation_run(method="FIFO", as_of=AS_OF, policy="newest_first", allow_inbound=False, dry_run=True)
    # then: O2, the newer, is served first
    assert [o["order_number"] for o in report.outcomes] == ["O2", "O1"]


def test_the_run_parameters_are_declared_once_and_every_door_is_made_from_them():
    from allocation.forms import AllocateForm
    from allocation.management.commands.allocate import Command
    from allocation.serializers import AllocateRequestSerializer

    names = [parameter.name for parameter in PARAMETERS]
    assert names == [field.name for field in dataclasses.fields(RunRequest)]
    assert list(AllocateRequestSerializer().fields) == names
    assert set(AllocateForm.base_fields) == {p.name for p in PARAMETERS if p.metadata["on_form"]}
    parser = Command().create_parser("manage.py", "allocate")
    assert {action.dest for action in parser._actions} >= set(names)
