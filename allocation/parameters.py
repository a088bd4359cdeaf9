"""A run's parameters, declared once: `RunRequest`, a frozen value that validates itself.

This is the only place a run's parameters are written out. Each field's metadata says its kind
("choice", "ids", "date" or "flag"), its label and its help; the API's serializer
(`allocation.serializers.AllocateRequestSerializer`), the admin's form (`allocation.forms.AllocateForm`),
the `allocate` command's arguments and a queued run's stored parameters are all made from these fields.
Adding a parameter is one field here, the model field that stores it (same name), its migration, and
the engine code that reads it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allocation import loads
from allocation.methods import get_method
from allocation.models import AllocationRun, Method, Policy
from allocation.policies import DEFAULT_POLICY, get_policy
from inventory_alloc.dates import OUT_OF_RANGE, is_sane
from inventory_alloc.errors import InvalidInput


def param(kind: str, label, help_text, choices: str | None = None, *, on_form: bool = True, cli: str = "") -> dict:
    """Return the metadata of a run parameter: its kind, label, help, (for a choice) its choices' name,
    whether the admin's allocate page asks for it (the orders are the page's selection, a dry run its
    Preview), and a shorter name the `allocate` command also takes (`--partial`, `--no-partial`)."""
    return {"kind": kind, "label": label, "help": help_text, "choices": choices, "on_form": on_form, "cli": cli}


@dataclass(frozen=True, slots=True)
class RunRequest:
    """The parameters of one allocation run (ALLOCATION.md, Run parameters); `validated()` checks them."""

    method: str = field(metadata=param(
        "choice", _("Method"), _("How lots are picked and costed (ALLOCATION.md)."), choices="methods"))
    orders: tuple[int, ...] | None = field(default=None, metadata=param(
        "ids", _("Orders"), _("Order ids to allocate; default: every open order."), on_form=False))
    as_of: date | None = field(default=None, metadata=param(
        "date", _("As of"), _("The allocation date; empty means today. It cannot be in the future, and lies "
                             "between 2000-01-01 and 2100-12-31.")))
    policy: str = field(default=DEFAULT_POLICY, metadata=param(
        "choice", _("Policy"), _("Which orders get scarce stock first."), choices="policies"))
    allow_partial: bool = field(default=True, metadata=param(
        "flag", _("Allow partial"), _("An order may be left partly allocated."), cli="partial"))
    allow_inbound: bool = field(default=True, metadata=param(
        "flag", _("Allow inbound"), _("Lots not received yet may be allocated, after every lot in stock."),
        cli="inbound"))
    dry_run: bool = field(default=False, metadata=param(
        "flag", _("Dry run"), _("Compute and show everything, write nothing."), on_form=False))

    @classmethod
    def of(cls, *, orders: Iterable | None = None, **values: object) -> RunRequest:
        """Return a request from keyword values (orders as ids or instances; unknown keywords are a TypeError)."""
        ids = loads.order_ids(orders)
        return cls(orders=None if ids is None else tuple(ids), **values)

    def validated(self) -> RunRequest:
        """Return the request with its date filled in (today), or raise InvalidInput naming the wrong field."""
        method, policy = get_method(self.method), get_policy(self.policy)
        if policy.rations and not self.allow_partial:
            raise InvalidInput(f"Policy {policy.name} shares scarce stock between orders, so it needs allow_partial.",
                               field="allow_partial")
        if policy.rations and method.named_lot_only:
            raise InvalidInput(f"Policy {policy.name} does not apply to {method.name}: each line takes the lot it names.",
                               field="policy")
        today = timezone.localdate()
        as_of = self.as_of or today
        if as_of > today:
            raise InvalidInput("The allocation date cannot be in the future.", field="as_of")
        if not is_sane(as_of):
            raise InvalidInput(OUT_OF_RANGE, field="as_of")
        return replace(self, as_of=as_of)

    def payload(self) -> dict:
        """Return the request as JSON-friendly values (a task's payload)."""
        values = asdict(self)
        values["orders"] = None if self.orders is None else list(self.orders)
        values["as_of"] = None if self.as_of is None else self.as_of.isoformat()
        return values

    @classmethod
    def from_run(cls, run: AllocationRun) -> RunRequest:
        """Return the request a stored run was made with."""
        values = {f.name: getattr(run, f.name) for f in fields(cls) if f.name != "orders"}
        return cls.of(orders=run.requested_orders, **values)

    def new_run(self, user=None) -> AllocationRun:
        """Return an unsaved run of this (validated) request, started by `user`."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "orders"}
        orders = None if self.orders is None else list(self.orders)
        return AllocationRun(**values, requested_orders=orders, requested_count=None if orders is None else len(orders),
                             started_by=user if getattr(user, "pk", None) else None)


PARAMETERS = fields(RunRequest)
# The choices a "choice" parameter takes, by the name its metadata gives (labels from the model's choices).
CHOICES: dict[str, Callable[[], list[tuple[str, str]]]] = {"methods": lambda: Method.choices,
                                                          "policies": lambda: Policy.choices}
