"""Writes through every door (admin, REST API, services) keep the books of ALLOCATION.md balanced.

A Hypothesis state machine drives random mixes of allocations, releases, cancels, order and line
edits, new orders, lot edits and deletions through the Django admin (a superuser's test client),
the API (an allocator's JWT) and the services called directly. It keeps a model of what the books
must hold (orders, lines, lot quantities, active results, allocation history); after every step it
checks the contract's invariants and that the database says what the model says. A write that the
model expects to be refused must be refused by the door that took it and change nothing at all.
"""
from __future__ import annotations

import csv
import importlib
import io
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages import WARNING, get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from allocation.domain import Conflict, DomainError, InsufficientStock
from allocation.models import AllocationResult, AllocationRun, Method
from allocation.services import allocation_release, allocation_run, order_cancel
from orders.models import Customer, Order, OrderLine, OrderStatus, Payment
from orders.services import order_create, order_delete, order_update
from stock.models import Item, Lot
from stock.services import item_create, lot_create, lot_delete, lot_update
from tests.api_support import API, client_for

START = date(2026, 1, 1)
AS_OF = START + timedelta(days=60)  # after every order date, before today
ITEMS = ("WIDGET", "GADGET")
METHODS = (Method.FIFO, Method.LIFO, Method.AVERAGE, Method.FEFO, Method.SPECIFIC)
OWN_COST = (Method.FIFO, Method.LIFO, Method.FEFO, Method.SPECIFIC)  # methods that cost a pick at its lot's own cost
DOORS = ("admin", "api", "service")
WRITE_DOORS = ("admin", "admin_import", "api", "service")  # the doors that edit orders and lots
LINE_DOORS = (*WRITE_DOORS, "api_put")  # lines are also sent whole, with the order, by PUT
BULK_DOORS = ("admin", "admin_bulk", "api", "service")  # admin_bulk: an action on several selected rows
CENTS = Decimal("0.01")
SETTINGS = settings(max_examples=15, stateful_step_count=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def day(offset: int | None) -> date | None:
    return None if offset is None else START + timedelta(days=offset)


lot_specs = st.lists(st.fixed_dictionaries({
    "item": st.sampled_from(ITEMS),
    "quantity": st.integers(1, 30),
    "cost": st.integers(0, 2000),
    "received": st.one_of(st.integers(0, 60), st.none(), st.integers(61, 90)),  # in stock at AS_OF, or inbound
    "eta": st.one_of(st.none(), st.integers(0, 90)),
    "expires": st.one_of(st.none(), st.integers(40, 120)),  # some expired at AS_OF
}), min_size=1, max_size=6)
# A line: item, quantity and maybe a lot it names (one of its item's, by index; only SPECIFIC reads it).
line_specs = st.lists(st.tuples(st.sampled_from(ITEMS), st.integers(1, 20), st.one_of(st.none(), st.integers(0, 1000))),
                      min_size=1, max_size=2)
order_specs = st.lists(st.tuples(st.integers(0, 40), line_specs), min_size=1, max_size=4)
picks = st.integers(0, 1000)  # an index into the current orders, lines or lots (modulo their number)
line_changes = st.one_of(
    st.tuples(st.just("quantity"), picks, st.integers(1, 40)),
    st.tuples(st.just("item"), picks),
    st.tuples(st.just("add"), line_specs.map(lambda lines: lines[0])),
    st.tuples(st.just("remove"), picks),
    st.tuples(st.just("note"), st.sampled_from(["rush", "call first", ""])),  # the order's own field
)
lot_changes = st.one_of(st.tuples(st.just("quantity"), st.integers(1, 40)), st.tuples(st.just("item")))


# --- the model of the books -------------------------------------------------------------

@dataclass
class LotModel:
    id: int
    reference: str
    item: str
    quantity: int
    received_on: date | None
    eta: date | None
    expires_on: date | None
    history: bool = False  # something was allocated from it, once

    @property
    def in_stock(self) -> bool:
        return self.received_on is not None and self.received_on <= AS_OF

    def usable(self, allow_inbound: bool) -> bool:
        """Return whether a run at AS_OF may pick it: not expired, and in stock unless inbound is allowed."""
        expired = self.expires_on is not None and self.expires_on < AS_OF
        return not expired and (self.in_stock or allow_inbound)

    def rank(self, method: str) -> tuple:
        """Return where the method takes it: in-stock lots in the method's order, then inbound ones by eta; ties by id."""
        if not self.in_stock:
            return (1, self.eta is None, self.eta or date.max, self.id)
        received = self.received_on.toordinal()
        if method == Method.LIFO:
            return (0, -received, self.id)
        if method == Method.FEFO:
            return (0, self.expires_on is None, self.expires_on or date.max, received, self.id)
        return (0, received, self.id)


@dataclass
class LineModel:
    item: str
    quantity: int
    lot: int | None = None  # the lot it names
    id: int | None = None  # None until the write that adds it is done
    history: bool = False


@dataclass
class OrderModel:
    number: str
    order_date: date
    lines: list[LineModel]
    id: int | None = None
    cancelled: bool = False
    note: str = ""


@dataclass(frozen=True)
class Held:
    order: int
    line: int
    lot: int
    quantity: int


@dataclass(frozen=True)
class Answer:
    """What a door answered: refused or done, and what it said."""

    refused: bool
    text: str = ""
    status: int | None = None  # the HTTP status, for the admin and the API


@dataclass
class Books:
    lots: dict[int, LotModel] = field(default_factory=dict)
    orders: dict[int, OrderModel] = field(default_factory=dict)
    active: dict[int, Held] = field(default_factory=dict)  # result id -> what it holds
    known: set[int] = field(default_factory=set)  # every result id ever written

    def named(self, lot_id: int) -> bool:
        return any(line.lot == lot_id for order in self.orders.values() for line in order.lines)

    def held_by_order(self, order_id: int) -> int:
        return sum(h.quantity for h in self.active.values() if h.order == order_id)

    def held_by_line(self, line_id: int) -> int:
        return sum(h.quantity for h in self.active.values() if h.line == line_id)

    def held_on_lot(self, lot_id: int) -> int:
        return sum(h.quantity for h in self.active.values() if h.lot == lot_id)

    def open_quantity(self, order: OrderModel) -> int:
        """Return what the order still needs: ordered minus actively allocated."""
        return sum(line.quantity - self.held_by_line(line.id) for line in order.lines)

    def need(self, orders: list[OrderModel], method: str) -> dict[str | int | None, int]:
        """Return the open quantity per pool: per item, or under SPECIFIC per lot named (None: no lot named)."""
        need: dict[str | int | None, int] = defaultdict(int)
        for line in (line for order in orders for line in order.lines):
            need[line.lot if method == Method.SPECIFIC else line.item] += line.quantity - self.held_by_line(line.id)
        return need

    def supply(self, method: str, allow_inbound: bool) -> dict[str | int | None, int]:
        """Return the available quantity per pool of the lots a run at AS_OF may pick."""
        supply: dict[str | int | None, int] = defaultdict(int)
        for lot in self.lots.values():
            if lot.usable(allow_inbound):
                supply[lot.id if method == Method.SPECIFIC else lot.item] += lot.quantity - self.held_on_lot(lot.id)
        return supply


def snapshot() -> tuple:
    """Return every row a write could touch (with its updated_at), to show that a refusal changed nothing."""
    return (
        AllocationRun.objects.count(),
        list(AllocationResult.objects.order_by("id").values_list("id", "lot_id", "allocated_quantity", "released_at")),
        list(Lot.objects.order_by("id").values_list("id", "item_id", "quantity", "allocated_quantity", "updated_at")),
        list(Order.objects.order_by("id").values_list("id", "order_number", "order_date", "status", "note", "updated_at")),
        list(OrderLine.objects.order_by("id").values_list("id", "order_id", "item_id", "quantity", "unit_price", "lot_id")),
        Item.objects.count(), Customer.objects.count(), Payment.objects.count(),
    )


def wipe() -> None:
    """Delete every row of the books in dependency order.

    First what hangs off the runs (the results, which PROTECT runs, lines and lots in the ORM only; on
    PostgreSQL a trigger also keeps a lot that has results), then the runs and the rest.
    """
    for relation in AllocationRun._meta.related_objects:
        relation.related_model.objects.all().delete()
    for model in (AllocationRun, OrderLine, Order, Payment, Customer, Lot, Item):
        model.objects.all().delete()


# --- the invariants of ALLOCATION.md, read from the database alone -----------------------

def by(queryset, key: str) -> dict[int, int]:
    return dict(queryset.values_list(key).annotate(q=Sum("allocated_quantity")).order_by())


def check_invariants() -> None:
    active = AllocationResult.objects.active()
    on_lot, on_line, on_order = by(active, "lot_id"), by(active, "order_line_id"), by(active, "order_id")
    for lot_id, reference, quantity, allocated in Lot.objects.values_list("id", "reference", "quantity", "allocated_quantity"):
        assert 0 <= allocated <= quantity, f"lot {reference}: {allocated} allocated of {quantity}"
        assert allocated == on_lot.get(lot_id, 0), f"lot {reference}: {allocated} stored, {on_lot.get(lot_id, 0)} active"
    for line_id, quantity, item, lot_item in OrderLine.objects.values_list("id", "quantity", "item_id", "lot__item_id"):
        assert on_line.get(line_id, 0) <= quantity, f"line {line_id}: {on_line.get(line_id, 0)} allocated of {quantity}"
        assert lot_item in (None, item), f"line {line_id} names a lot of another item"
    for order in Order.objects.annotate(ordered=Sum("lines__quantity")):
        held = on_order.get(order.pk, 0)
        if order.status == OrderStatus.CANCELLED:
            assert held == 0, f"cancelled order {order.order_number} holds {held}"
        else:
            assert order.status == OrderStatus.derive(order.ordered or 0, held), order.order_number
    line_picks: dict[tuple[int, int], list[tuple[bool, Decimal, Decimal]]] = defaultdict(list)
    for result in AllocationResult.objects.select_related("lot", "order_line", "run"):
        lot, line = result.lot, result.order_line
        assert result.item_id == line.item_id == lot.item_id, f"result {result.pk}: items differ"
        assert result.order_id == line.order_id, f"result {result.pk}: not its line's order"
        assert lot.expires_on is None or lot.expires_on >= result.allocation_date, f"result {result.pk}: expired lot"
        if not result.run.allow_inbound:
            assert lot.received_on is not None and lot.received_on <= result.allocation_date, f"result {result.pk}: inbound"
        amount = (result.allocated_quantity * result.unit_cost).quantize(CENTS, rounding=ROUND_HALF_UP)
        assert result.allocated_price == amount, f"result {result.pk}: amount"
        if result.method in OWN_COST:
            assert result.unit_cost == lot.unit_cost, f"result {result.pk}: cost"
        else:
            in_stock = lot.received_on is not None and lot.received_on <= result.allocation_date
            line_picks[result.run_id, result.order_line_id].append((in_stock, result.unit_cost, lot.unit_cost))
    for (run_id, line_id), line in line_picks.items():
        if any(in_stock for in_stock, _, _ in line):  # an average was formed: every pick of the line carries it
            assert len({cost for _, cost, _ in line}) == 1, f"run {run_id}, line {line_id}: {line}"
        else:  # nothing in stock to average: each pick at its lot's own cost
            assert all(cost == own for _, cost, own in line), f"run {run_id}, line {line_id}: {line}"
    for run in AllocationRun.objects.annotate(q=Sum("results__allocated_quantity"), amount=Sum("results__allocated_price")):
        # a run's summary is what its results add up to (released ones included)
        assert (run.allocated_quantity, run.allocated_amount) == (run.q or 0, run.amount or 0), f"run {run.pk}"


def check_model(books: Books) -> None:
    """The database holds exactly the orders, lines, lot quantities and active results of the model."""
    orders = {o.id: (o.number, o.order_date, o.cancelled, o.note) for o in books.orders.values()}
    assert {pk: (number, when, status == OrderStatus.CANCELLED, note) for pk, number, when, status, note
            in Order.objects.values_list("id", "order_number", "order_date", "status", "note")} == orders
    lines = {line.id: (o.id, line.item, line.quantity, line.lot) for o in books.orders.values() for line in o.lines}
    assert {pk: rest for pk, *rest in OrderLine.objects.values_list("id", "order_id", "item__item_code", "quantity",
                                                                    "lot_id")} == {k: list(v) for k, v in lines.items()}
    assert dict(Lot.objects.values_list("id", "item__item_code")) == {lot.id: lot.item for lot in books.lots.values()}
    assert dict(Lot.objects.values_list("id", "quantity")) == {lot.id: lot.quantity for lot in books.lots.values()}
    assert {r.pk: Held(r.order_id, r.order_line_id, r.lot_id, r.allocated_quantity)
            for r in AllocationResult.objects.active()} == books.active
    assert set(AllocationResult.objects.values_list("id", flat=True)) == books.known


# --- the doors ----------------------------------------------------------------------------

def allocator_user() -> User:
    """Return a user of the API's `allocator` group (made again if a transactional test flushed it)."""
    group, _ = Group.objects.get_or_create(name="allocator")
    codenames = importlib.import_module("allocation.migrations.0002_groups").GROUPS["allocator"]
    group.permissions.add(*[Permission.objects.get(content_type__app_label=app, codename=codename)
                            for app, codename in codenames])
    user, _ = User.objects.get_or_create(username="door-allocator")
    user.groups.add(group)
    return user


def superuser() -> User:
    user = User.objects.filter(username="door-admin").first()
    return user or User.objects.create_superuser("door-admin", "admin@example.com", "s3cret-pass-123")


class Doors:
    """Send one write through the admin, the API or a service; say whether it was refused."""

    def __init__(self) -> None:
        self.admin = Client()
        self.admin.force_login(superuser())
        self.api = client_for(allocator_user())

    def post_admin(self, url: str, data: dict) -> Answer:
        session = self.admin.session  # only this request's messages (they are kept in the session)
        if session.pop("_messages", None) is not None:
            session.save()
        response = self.admin.post(url, data)
        said = [(m.level, str(m.message)) for m in get_messages(response.wsgi_request)]
        text = " | ".join(text for _, text in said)
        if response.status_code == 200:  # a form shown again: its errors
            errors = (response.context or {}).get("errors") or (response.context or {}).get("adminform")
            return Answer(True, f"{text} {errors}", 200)
        assert response.status_code == 302, f"{url}: {response.status_code}"
        return Answer(any(level >= WARNING for level, _ in said), text, 302)

    def import_rows(self, model_path: str, rows: list[dict]) -> Answer:
        """Import a CSV file through the admin: the preview (a dry run), then its confirmation if it has no errors."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        preview = self.admin.post(f"/admin/{model_path}/import/", {
            "format": "0", "import_file": SimpleUploadedFile("rows.csv", out.getvalue().encode())})
        assert preview.status_code == 200, f"{model_path} import: {preview.status_code}"
        form, result = preview.context.get("confirm_form"), preview.context["result"]
        if form is None:
            errors = [row.error_dict for row in result.invalid_rows] + [e.error for _, es in result.row_errors() for e in es]
            return Answer(True, str(errors))
        return self.post_admin(f"/admin/{model_path}/process_import/", {**form.initial})

    def call_api(self, method: str, url: str, data: dict | None = None) -> Answer:
        response = getattr(self.api, method)(f"{API}{url}", data, format="json")
        if response.status_code in (400, 409):
            return Answer(True, str(response.json()))
        assert response.status_code in (200, 201, 204), f"{method} {url}: {response.status_code} {response.content[:500]}"
        return Answer(False)

    @staticmethod
    def call_service(write, **kwargs) -> Answer:
        try:
            write(**kwargs)
        except (DomainError, ValidationError) as error:
            return Answer(True, str(getattr(error, "message", error)))
        return Answer(False)


def order_form(order: OrderModel, lines: list[LineModel], removed: set[int], note: str = "") -> dict:
    """Return the POST of an order's admin form with the inline formset of its lines."""
    kept = [line for line in lines if line.id is not None]
    data = {
        "order_number": order.number, "customer": "", "order_date": order.order_date.isoformat(), "priority": 0,
        "note": note, "lines-TOTAL_FORMS": len(lines), "lines-INITIAL_FORMS": len(kept),
        "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 1000,
    }
    items = dict(Item.objects.values_list("item_code", "id"))
    prices = dict(OrderLine.objects.filter(id__in=[line.id for line in kept]).values_list("id", "unit_price"))
    for n, line in enumerate(lines):
        data.update({f"lines-{n}-item": items[line.item], f"lines-{n}-quantity": line.quantity,
                     f"lines-{n}-lot": line.lot or ""})
        if line.id is not None:
            data.update({f"lines-{n}-id": line.id, f"lines-{n}-order": order.id,
                         f"lines-{n}-unit_price": prices[line.id]})
            if line.id in removed:
                data[f"lines-{n}-DELETE"] = "on"
        else:
            data[f"lines-{n}-unit_price"] = ""
    return data


def iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def lot_form(lot: Lot, quantity: int, item: Item) -> dict:
    """Return the POST of a lot's admin form: its fields as they are, but for quantity and item."""
    return {"reference": lot.reference, "item": item.pk, "quantity": quantity, "unit_cost": lot.unit_cost,
            "received_on": iso(lot.received_on), "eta": iso(lot.eta), "expires_on": iso(lot.expires_on), "note": lot.note}


def lot_row(lot: Lot, quantity: int, item: str) -> dict:
    """Return a row of the lot import (matched by reference)."""
    return {"reference": lot.reference, "item_code": item, "quantity": quantity, "unit_cost": lot.unit_cost,
            "received_on": iso(lot.received_on), "eta": iso(lot.eta), "expires_on": iso(lot.expires_on), "note": lot.note}


def order_row(order: OrderModel, line: LineModel, references: dict[int, str]) -> dict:
    """Return a row of the order import: one line, matched by order number, item and lot."""
    return {"order_number": order.number, "customer": "", "order_date": order.order_date.isoformat(), "priority": 0,
            "item_code": line.item, "quantity": line.quantity, "unit_price": "", "lot": references.get(line.lot, "")}


# --- the machine ----------------------------------------------------------------------------

class DoorMachine(RuleBasedStateMachine):
    """Random writes through random doors; the books balance after each, and refusals change nothing."""

    @initialize(lots=lot_specs, orders=order_specs, first_run=st.one_of(st.none(), st.sampled_from(METHODS)))
    def fill(self, lots: list[dict], orders: list[tuple], first_run: str | None) -> None:
        """Start from fresh books: two items, some lots, some orders, maybe allocated already (by the service)."""
        wipe()
        self.doors, self.books, self.numbers = Doors(), Books(), 0
        self.items = {code: item_create(item_code=code, name=code.title(), unit_price=Decimal("20")) for code in ITEMS}
        for n, spec in enumerate(lots, start=1):
            received, expires = day(spec["received"]), day(spec["expires"])
            lot = lot_create(reference=f"L{n}", item=self.items[spec["item"]], quantity=spec["quantity"],
                             unit_cost=Decimal(spec["cost"]).scaleb(-2), received_on=received, eta=day(spec["eta"]),
                             expires_on=expires)
            self.books.lots[lot.pk] = LotModel(lot.pk, lot.reference, spec["item"], spec["quantity"], received, lot.eta,
                                               expires)
        for offset, lines in orders:
            model = OrderModel(self.next_number("O"), day(offset), self.new_lines(lines))
            order_create(order_number=model.number, order_date=model.order_date, priority=0,
                         lines=[self.service_line(line) for line in model.lines])
            self.adopt(model)
        if first_run:
            self.allocate("service", list(range(len(self.books.orders))), first_run, partial=True, inbound=True)

    # --- helpers of the model

    def next_number(self, prefix: str) -> str:
        self.numbers += 1
        return f"{prefix}{self.numbers}"

    def new_lines(self, specs: list[tuple]) -> list[LineModel]:
        """Return new lines; a line names the lot its index picks among its item's lots (none if it has none)."""
        lines = []
        for item, quantity, pick in specs:
            lots = sorted(lot.id for lot in self.books.lots.values() if lot.item == item)
            lines.append(LineModel(item, quantity, lots[pick % len(lots)] if lots and pick is not None else None))
        return lines

    def service_line(self, line: LineModel) -> dict:
        lot = Lot.objects.get(pk=line.lot) if line.lot else None
        return {"item": self.items[line.item], "quantity": line.quantity, "lot": lot, **({"id": line.id} if line.id else {})}

    def api_line(self, line: LineModel) -> dict:
        lot = self.books.lots[line.lot].reference if line.lot else None
        return {"item_code": line.item, "quantity": line.quantity, "lot": lot, **({"id": line.id} if line.id else {})}

    def references(self) -> dict[int, str]:
        return {lot.id: lot.reference for lot in self.books.lots.values()}

    def adopt(self, model: OrderModel) -> None:
        """Take the ids of a new order and its lines from the database (lines in the order given)."""
        model.id = Order.objects.get(order_number=model.number).pk
        self.books.orders[model.id] = model
        self.sync_lines(model)

    def sync_lines(self, model: OrderModel) -> None:
        """Give new lines their ids: the order's rows are its kept lines, then the new ones, by id."""
        rows = list(OrderLine.objects.filter(order_id=model.id).order_by("id").values_list(
            "id", "item__item_code", "quantity", "lot_id"))
        assert [row[1:] for row in rows] == [(line.item, line.quantity, line.lot) for line in model.lines]
        for row, line in zip(rows, model.lines, strict=True):
            assert line.id in (None, row[0])
            line.id = row[0]

    def order_at(self, pick: int) -> OrderModel:
        return self.books.orders[sorted(self.books.orders)[pick % len(self.books.orders)]]

    def lot_at(self, pick: int) -> LotModel:
        return self.books.lots[sorted(self.books.lots)[pick % len(self.books.lots)]]

    def expect(self, answer: Answer, refused: bool, before: tuple, what: str) -> None:
        """The door refused exactly when the model says so; a refusal changed nothing."""
        assert answer.refused == refused, f"{what}: {'refused' if answer.refused else 'done'}, expected otherwise. {answer.text}"
        if refused:
            assert snapshot() == before, f"{what}: refused, yet the books changed"

    # --- allocate, release, cancel

    @precondition(lambda self: self.books.orders)
    @rule(door=st.sampled_from(DOORS), chosen=st.lists(picks, min_size=1, max_size=4), method=st.sampled_from(METHODS),
          partial=st.booleans(), inbound=st.booleans())
    def allocate(self, door: str, chosen: list[int], method: str, partial: bool, inbound: bool) -> None:
        orders = sorted({self.order_at(pick).id for pick in chosen})
        live = [self.books.orders[pk] for pk in orders if not self.books.orders[pk].cancelled]
        need, supply = self.books.need(live, method), self.books.supply(method, inbound)
        fillable = all(quantity <= supply[pool] for pool, quantity in need.items())
        # one order named: refused if it is cancelled, or cannot be filled and may not be partly
        refused = len(orders) == 1 and (not live or (not partial and not fillable))
        before, runs = snapshot(), AllocationRun.objects.count()
        if door == "admin":
            data = {"method": method, "policy": "order_date", "as_of": AS_OF.isoformat(), "allocate": "1",
                    "_selected_action": orders, "select_across": "0"}
            data.update({"allow_partial": "on"} if partial else {})
            data.update({"allow_inbound": "on"} if inbound else {})
            answer = self.doors.post_admin("/admin/orders/order/allocate/", data)
        elif door == "api":
            answer = self.doors.call_api("post", "allocate/", {
                "method": method, "orders": orders, "as_of": AS_OF.isoformat(), "policy": "order_date",
                "allow_partial": partial, "allow_inbound": inbound})
        else:
            answer = self.doors.call_service(allocation_run, method=method, orders=orders, as_of=AS_OF,
                                             allow_partial=partial, allow_inbound=inbound)
        self.expect(answer, refused, before, f"allocate {orders} {method} partial={partial}")
        if refused:
            return
        assert AllocationRun.objects.count() == runs + 1
        self.take_new_results(live, method, need, supply, partial)
        # running the same allocation again allocates nothing new
        try:
            again = allocation_run(method=method, orders=orders, as_of=AS_OF, allow_partial=partial,
                                   allow_inbound=inbound, dry_run=True)
        except (InsufficientStock, Conflict):
            return
        assert again.picks == []

    def take_new_results(self, live: list[OrderModel], method: str, need: dict, supply: dict, partial: bool) -> None:
        """Check the results a run just wrote against the demand and supply it saw, and add them to the model."""
        new = list(AllocationResult.objects.exclude(id__in=self.books.known).select_related("item"))
        lines = {line.id: line for order in live for line in order.lines}
        taken: dict[str | int | None, int] = defaultdict(int)
        per_order: dict[int, int] = defaultdict(int)
        for result in new:
            assert result.released_at is None and result.order_line_id in lines, f"result {result.pk}: not asked for"
            if method == Method.SPECIFIC:
                assert result.lot_id == lines[result.order_line_id].lot, f"result {result.pk}: not the lot named"
            taken[result.lot_id if method == Method.SPECIFIC else result.item.item_code] += result.allocated_quantity
            per_order[result.order_id] += result.allocated_quantity
        for pool in {*need, *supply, *taken}:
            assert taken[pool] <= supply[pool], f"{pool}: {taken[pool]} taken, {supply[pool]} available"
            if partial:  # served greedily: everything asked for, or everything there was
                assert taken[pool] == min(need[pool], supply[pool]), f"{pool}: {taken[pool]} taken"
        if not partial:  # all or nothing per order
            for order in live:
                assert per_order[order.id] in (0, self.books.open_quantity(order)), order.number
        for result in new:
            self.books.active[result.pk] = Held(result.order_id, result.order_line_id, result.lot_id,
                                                result.allocated_quantity)
            self.books.known.add(result.pk)
            lines[result.order_line_id].history = True
            self.books.lots[result.lot_id].history = True
        for lot_id in {r.lot_id for r in new} if method != Method.SPECIFIC else ():
            # a lot is taken only once every lot the method takes before it is used up
            picked = self.books.lots[lot_id]
            for lot in self.books.lots.values():
                if lot.item == picked.item and lot.usable(allow_inbound=True) and lot.rank(method) < picked.rank(method):
                    left = lot.quantity - self.books.held_on_lot(lot.id)
                    assert left == 0, f"{method} took {picked.reference} while {left} were left in {lot.reference}"

    @precondition(lambda self: self.books.orders)
    @rule(door=st.sampled_from(BULK_DOORS), chosen=st.lists(picks, min_size=1, max_size=3),
          lot_pick=st.one_of(st.none(), picks))
    def release(self, door: str, chosen: list[int], lot_pick: int | None) -> None:
        orders = list({o.id: o for o in [self.order_at(pick) for pick in chosen]}.values())
        order = orders[0]
        lot = None if lot_pick is None or door.startswith("admin") or not self.books.lots else self.lot_at(lot_pick)
        before = snapshot()
        if door == "admin":  # the button on the order's page releases all of it
            orders, answer = [order], self.doors.post_admin(f"/admin/orders/order/{order.id}/release/", {})
        elif door == "admin_bulk":  # the action on the selected orders, confirmed
            answer = self.doors.post_admin("/admin/orders/order/release/", {
                "confirm": "1", "_selected_action": [o.id for o in orders], "select_across": "0"})
        elif door == "api":
            orders = [order]
            answer = self.doors.call_api("post", f"orders/{order.id}/release/", {"lot": lot.reference} if lot else {})
        else:
            answer = self.doors.call_service(allocation_release, orders=[o.id for o in orders], lot=lot.id if lot else None)
        self.expect(answer, False, before, f"release {[o.number for o in orders]} {lot.reference if lot else ''}")
        ids = {o.id for o in orders}
        self.books.active = {pk: h for pk, h in self.books.active.items()
                             if h.order not in ids or (lot is not None and h.lot != lot.id)}

    @precondition(lambda self: self.books.orders)
    @rule(door=st.sampled_from(DOORS), chosen=st.lists(picks, min_size=1, max_size=3))
    def cancel(self, door: str, chosen: list[int]) -> None:
        live = sorted(pk for pk, order in self.books.orders.items() if not order.cancelled)
        first = self.books.orders[live[chosen[0] % len(live)]] if live else self.order_at(chosen[0])
        orders = list({o.id: o for o in [first, *(self.order_at(pick) for pick in chosen[1:])]}.values())
        before = snapshot()
        if door == "admin":  # the action skips the cancelled orders; with none left it says nothing is selected
            refused = all(order.cancelled for order in orders)
            answer = self.doors.post_admin("/admin/orders/order/cancel/", {
                "confirm": "1", "_selected_action": [order.id for order in orders], "select_across": "0"})
        elif door == "api":
            orders, refused = [first], first.cancelled
            answer = self.doors.call_api("post", f"orders/{first.id}/cancel/")
        else:  # all or nothing
            refused = any(order.cancelled for order in orders)
            answer = self.doors.call_service(order_cancel, orders=[order.id for order in orders])
        self.expect(answer, refused, before, f"cancel {[order.number for order in orders]}")
        if not refused:
            ids = {order.id for order in orders}
            for order in orders:
                order.cancelled = True
            self.books.active = {pk: h for pk, h in self.books.active.items() if h.order not in ids}

    # --- orders and their lines

    @precondition(lambda self: self.books.orders)
    @rule(door=st.sampled_from(LINE_DOORS), pick=picks, change=line_changes)
    def edit_lines(self, door: str, pick: int, change: tuple) -> None:
        order = self.order_at(pick)
        lines = [replace(line) for line in order.lines]
        kind, changed, removed, note = change[0], lines[0], set(), order.note
        if kind == "add":
            changed = self.new_lines([change[1]])[0]
            lines.append(changed)
        elif kind == "note":  # the order's own field; the lines are sent as they are
            note = change[1]
        else:
            changed = lines[change[1] % len(lines)]
            if kind == "quantity":
                changed.quantity = change[2]
            elif kind == "item":  # the line keeps the lot it names, of its old item
                changed.item = next(code for code in ITEMS if code != changed.item)
            elif len(lines) > 1:  # an order keeps one line at least
                removed = {changed.id}
        held = self.books.held_by_order(order.id)
        refused = (order.cancelled or held > 0 or (kind == "item" and (changed.history or changed.lot is not None))
                   or bool(removed and changed.history))
        keys = [(line.item, line.lot) for line in lines]
        if door == "admin_import" and (kind not in ("quantity", "add") or keys.count((changed.item, changed.lot)) > 1):
            door = "admin"  # an import row changes or adds the one line of its item and lot; it cannot say more
        before = snapshot()
        answer = self.write_lines(door, order, lines, removed, changed, note)
        self.expect(answer, refused, before, f"edit {order.number} {change} via {door}")
        if held and door == "admin":  # the order's page is read only: the POST is sent back with the reason
            assert answer.status == 302
            assert f"Order {order.number} holds allocations for {held} units: release them first." in answer.text
        if not refused:
            order.lines, order.note = [line for line in lines if line.id not in removed], note
            self.sync_lines(order)

    def write_lines(self, door: str, order: OrderModel, lines: list[LineModel], removed: set[int],
                    changed: LineModel, note: str) -> Answer:
        if door == "admin":
            return self.doors.post_admin(f"/admin/orders/order/{order.id}/change/", order_form(order, lines, removed, note))
        if door == "admin_import":
            return self.doors.import_rows("orders/order", [order_row(order, changed, self.references())])
        kept = [line for line in lines if line.id not in removed]
        if door == "api":
            return self.doors.call_api("patch", f"orders/{order.id}/", {"lines": [self.api_line(line) for line in kept],
                                                                        **({"note": note} if note != order.note else {})})
        if door == "api_put":
            return self.doors.call_api("put", f"orders/{order.id}/", {
                "order_number": order.number, "customer": None, "order_date": order.order_date.isoformat(), "priority": 0,
                "note": note, "lines": [self.api_line(line) for line in kept]})
        return self.doors.call_service(order_update, order=Order.objects.get(pk=order.id), note=note,
                                       lines=[self.service_line(line) for line in kept])

    @rule(door=st.sampled_from(WRITE_DOORS), offset=st.integers(0, 40), lines=line_specs)
    def add_order(self, door: str, offset: int, lines: list[tuple]) -> None:
        model = OrderModel(self.next_number("N"), day(offset), self.new_lines(lines))
        before = snapshot()
        keys = {(line.item, line.lot) for line in model.lines}
        if door == "admin_import" and len(keys) == len(model.lines):  # one row per line, told apart by item and lot
            answer = self.doors.import_rows("orders/order", [order_row(model, line, self.references())
                                                             for line in model.lines])
        elif door in ("admin", "admin_import"):
            answer = self.doors.post_admin("/admin/orders/order/add/", order_form(model, model.lines, set()))
        elif door == "api":
            answer = self.doors.call_api("post", "orders/", {
                "order_number": model.number, "customer": None, "order_date": model.order_date.isoformat(),
                "priority": 0, "lines": [self.api_line(line) for line in model.lines]})
        else:
            answer = self.doors.call_service(order_create, order_number=model.number, order_date=model.order_date,
                                             priority=0, lines=[self.service_line(line) for line in model.lines])
        self.expect(answer, False, before, f"add {model.number} via {door}")
        self.adopt(model)
        assert Order.objects.get(pk=model.id).status == OrderStatus.OPEN

    @precondition(lambda self: self.books.orders)
    @rule(door=st.sampled_from(BULK_DOORS), chosen=st.lists(picks, min_size=1, max_size=3))
    def delete_orders(self, door: str, chosen: list[int]) -> None:
        orders = [self.order_at(pick) for pick in (chosen if door == "admin_bulk" else chosen[:1])]
        orders = list({o.id: o for o in orders}.values())
        refused = any(line.history for order in orders for line in order.lines)  # cancel those instead
        before = snapshot()
        answer = self.delete(door, "orders/order", "orders", order_delete, "order",
                             [Order.objects.get(pk=order.id) for order in orders])
        self.expect(answer, refused, before, f"delete {[o.number for o in orders]} via {door}")
        if not refused:
            for order in orders:
                del self.books.orders[order.id]

    # --- lots

    @precondition(lambda self: self.books.lots)
    @rule(door=st.sampled_from(WRITE_DOORS), pick=picks, change=lot_changes)
    def edit_lot(self, door: str, pick: int, change: tuple) -> None:
        model = self.lot_at(pick)
        if change[0] == "quantity":  # never below what is allocated from it
            quantity, item = change[1], model.item
            refused = quantity < self.books.held_on_lot(model.id)
        else:  # a lot ever allocated from, or named on a line, keeps its item
            quantity, item = model.quantity, next(code for code in ITEMS if code != model.item)
            refused = model.history or self.books.named(model.id)
        before = snapshot()
        answer = self.write_lot(door, Lot.objects.get(pk=model.id), quantity, item)
        self.expect(answer, refused, before, f"lot {model.reference} {change} via {door}")
        if not refused:
            model.quantity, model.item = quantity, item

    def write_lot(self, door: str, lot: Lot, quantity: int, item: str) -> Answer:
        changes = {"quantity": quantity} if item == lot.item.item_code else {"item_code": item}
        if door == "admin":
            return self.doors.post_admin(f"/admin/stock/lot/{lot.pk}/change/", lot_form(lot, quantity, self.items[item]))
        if door == "admin_import":
            return self.doors.import_rows("stock/lot", [lot_row(lot, quantity, item)])
        if door == "api":
            return self.doors.call_api("patch", f"lots/{lot.pk}/", changes)
        return self.doors.call_service(lot_update, lot=lot, **({"item": self.items[item]} if "item_code" in changes
                                                               else changes))

    @precondition(lambda self: self.books.lots)
    @rule(door=st.sampled_from(BULK_DOORS), chosen=st.lists(picks, min_size=1, max_size=3))
    def delete_lots(self, door: str, chosen: list[int]) -> None:
        lots = [self.lot_at(pick) for pick in (chosen if door == "admin_bulk" else chosen[:1])]
        lots = list({lot.id: lot for lot in lots}.values())
        refused = any(lot.history or self.books.named(lot.id) for lot in lots)
        before = snapshot()
        answer = self.delete(door, "stock/lot", "lots", lot_delete, "lot", [Lot.objects.get(pk=lot.id) for lot in lots])
        self.expect(answer, refused, before, f"delete {[lot.reference for lot in lots]} via {door}")
        if not refused:
            for lot in lots:
                del self.books.lots[lot.id]

    def delete(self, door: str, admin_path: str, api_path: str, service, key: str, rows: list) -> Answer:
        if door == "admin":
            return self.doors.post_admin(f"/admin/{admin_path}/{rows[0].pk}/delete/", {"post": "yes"})
        if door == "admin_bulk":  # "delete selected", confirmed
            return self.doors.post_admin(f"/admin/{admin_path}/", {
                "action": "delete_selected", "_selected_action": [row.pk for row in rows], "post": "yes"})
        if door == "api":
            return self.doors.call_api("delete", f"{api_path}/{rows[0].pk}/")
        return self.doors.call_service(service, **{key: rows[0]})

    # --- after every step

    @invariant()
    def books_balance(self) -> None:
        check_invariants()
        check_model(self.books)


@pytest.mark.django_db(transaction=True)
def test_writes_through_every_door_keep_the_books_balanced_and_refusals_change_nothing():
    # Each door commits as in production (deferred constraints are checked); `fill` empties the books per example.
    run_state_machine_as_test(DoorMachine, settings=SETTINGS)


def test_an_order_import_row_that_matches_two_lines_is_answered_as_a_row_error(admin_client):
    # given: O1 has two lines of WIDGET, no lot named
    widget = item_create(item_code="WIDGET", name="Widget", unit_price=Decimal("20"))
    order_create(order_number="O1", order_date=START, lines=[{"item": widget, "quantity": 5}, {"item": widget, "quantity": 7}])
    rows = "order_number,customer,order_date,priority,item_code,quantity,unit_price,lot\nO1,,2026-01-01,0,WIDGET,9,,\n"
    # when
    preview = admin_client.post("/admin/orders/order/import/", {
        "format": "0", "import_file": SimpleUploadedFile("orders.csv", rows.encode())})
    # then: nothing is written, and the row is refused in words, not by an exception
    result = preview.context["result"]
    assert list(OrderLine.objects.order_by("id").values_list("quantity", flat=True)) == [5, 7]
    assert not result.has_errors(), [error.error for _, errors in result.row_errors() for error in errors]
    assert result.has_validation_errors()
    [invalid] = result.invalid_rows
    assert "more than one line of WIDGET" in str(invalid.error_dict["item"])
