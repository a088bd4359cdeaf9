"""Concurrent runs on PostgreSQL never oversell, whatever their interleaving."""
import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.db import connection
from django.db.models import Sum

from allocation.models import AllocationResult, Method
from allocation.services import allocation_release, allocation_run
from orders.models import Order
from stock.models import Lot
from tests.factories import ItemFactory, LotFactory, order_with_lines
from tests.threads import at_once

AS_OF = date(2026, 1, 25)


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and real concurrency need PostgreSQL")


def assert_no_oversell(books_balance) -> None:
    for reference, quantity, allocated in Lot.objects.values_list("reference", "quantity", "allocated_quantity"):
        assert allocated <= quantity, reference
    books_balance()


@dataclass
class PausedRun:
    """What a run paused before writing did: the RunWrites of each of its writes, and the error it raised."""

    writes: list = field(default_factory=list)
    errors: list = field(default_factory=list)


@contextmanager
def run_paused_before_writing(monkeypatch, job: Callable[[], object]) -> Iterator[PausedRun]:
    """Run `job` (an allocation run) in a thread of its own that stops just before its first write
    (`allocation.writes.write_run`) and goes on when the block ends; other threads' runs write as usual."""
    from django.db import connections

    from allocation import writes

    paused, reached, go_on = PausedRun(), threading.Event(), threading.Event()
    write_run = writes.write_run

    def paused_write_run(run, w, now):
        if threading.current_thread() is runner:
            paused.writes.append(w)
            if len(paused.writes) == 1:
                reached.set()
                assert go_on.wait(30)
        return write_run(run, w, now)

    def work() -> None:
        try:
            job()
        except BaseException as error:  # noqa: BLE001  (the test reads it)
            paused.errors.append(error)
        finally:
            connections.close_all()

    monkeypatch.setattr(writes, "write_run", paused_write_run)
    runner = threading.Thread(target=work)
    runner.start()
    try:
        assert reached.wait(30)
        yield paused
    finally:
        go_on.set()
        runner.join(30)


@pytest.mark.parametrize("method", [Method.FIFO, Method.MOVING_AVERAGE])
def test_eight_runs_at_once_for_one_unit_each_never_oversell_the_scarce_item(
    postgres_only, transactional_db, books_balance, method,
):
    # given: 5 units in two lots, 8 orders of one unit each
    item = ItemFactory(item_code="SCARCE")
    LotFactory(reference="S1", item=item, quantity=3, received_on=date(2026, 1, 5))
    LotFactory(reference="S2", item=item, quantity=2, received_on=date(2026, 1, 6))
    orders = [order_with_lines(f"R{n}", date(2026, 1, 10), (item, 1)) for n in range(8)]
    # when
    errors = at_once([
        lambda order=order: allocation_run(method=method, orders=[order.pk], as_of=AS_OF) for order in orders
    ])
    # then: every run finished, and exactly the 5 units in stock went to 5 orders
    assert errors == []
    assert AllocationResult.objects.aggregate(q=Sum("allocated_quantity"))["q"] == 5
    assert sorted(Order.objects.values_list("status", flat=True)) == ["allocated"] * 5 + ["open"] * 3
    assert_no_oversell(books_balance)


def test_runs_over_all_open_orders_releases_and_single_runs_at_once_keep_the_books(
    postgres_only, transactional_db, books_balance,
):
    # given: two items short of demand, 12 orders of two lines, a few already allocated
    widget, gadget = ItemFactory(item_code="WIDGET"), ItemFactory(item_code="GADGET")
    LotFactory(reference="W1", item=widget, quantity=20, received_on=date(2026, 1, 5))
    LotFactory(reference="W2", item=widget, quantity=15, received_on=None, eta=date(2026, 2, 1))
    LotFactory(reference="G1", item=gadget, quantity=25, received_on=date(2026, 1, 5))
    orders = [order_with_lines(f"M{n}", date(2026, 1, 1 + n), (widget, 4), (gadget, 3)) for n in range(12)]
    allocation_run(method=Method.FIFO, orders=orders[:3], as_of=AS_OF)
    # when
    jobs = [lambda: allocation_run(method=Method.FIFO, as_of=AS_OF) for _ in range(3)]
    jobs += [lambda: allocation_run(method=Method.AVERAGE, as_of=AS_OF, policy="priority")]
    jobs += [lambda order=order: allocation_run(method=Method.LIFO, orders=[order.pk], as_of=AS_OF) for order in orders[5:8]]
    jobs += [lambda: allocation_release(order=orders[0].pk)]
    errors = at_once(jobs)
    # then
    assert errors == []
    assert_no_oversell(books_balance)
    allocated = AllocationResult.objects.active().values("item__item_code").annotate(q=Sum("allocated_quantity"))
    totals = {row["item__item_code"]: row["q"] for row in allocated}
    # demand exceeds stock: all of it is allocated, unless M0's release came after the last run
    assert totals in ({"WIDGET": 35, "GADGET": 25}, {"WIDGET": 31, "GADGET": 22})


@pytest.mark.parametrize("how", ["results", "lot"])
def test_releasing_the_same_allocation_twice_at_once_returns_it_only_once(postgres_only, transactional_db, books_balance, how):
    # given: O1 holds 30 of L1, O2 holds 50 of L1
    item = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=item, quantity=100, received_on=date(2026, 1, 5))
    o1 = order_with_lines("O1", date(2026, 1, 6), (item, 30))
    o2 = order_with_lines("O2", date(2026, 1, 7), (item, 50))
    allocation_run(method=Method.FIFO, orders=[o1], as_of=AS_OF)
    allocation_run(method=Method.FIFO, orders=[o2], as_of=AS_OF)
    o1_result = AllocationResult.objects.get(order=o1).pk
    release = (lambda: allocation_release(results=[o1_result])) if how == "results" else (
        lambda: allocation_release(lot="L1"))
    # when: eight clerks press "release" at the same moment
    errors = at_once([release] * 8)
    # then: each allocation came back once; the others were told it was already released, or found nothing to do
    assert all(type(error).__name__ == "Conflict" for error in errors), errors
    assert_no_oversell(books_balance)
    assert Lot.objects.get(reference="L1").allocated_quantity == (50 if how == "results" else 0)


def test_a_run_holding_a_lot_queues_a_lot_edit_but_not_a_new_line_that_names_the_lot(
    postgres_only, transactional_db, monkeypatch,
):
    """A run costed over the item's stock (here MOVING_AVERAGE) locks its lots as it reads them."""
    from django.db import connections, transaction

    from orders.models import OrderLine
    from stock.services import lot_update

    # given: a run that stops with its lots locked, just before it writes
    item = ItemFactory(item_code="WIDGET")
    lot = LotFactory(reference="L1", item=item, quantity=10, received_on=date(2026, 1, 5))
    order = order_with_lines("R1", date(2026, 1, 10), (item, 4))
    with run_paused_before_writing(
            monkeypatch, lambda: allocation_run(method=Method.MOVING_AVERAGE, orders=[order.pk], as_of=AS_OF)):
        outcome: dict[str, object] = {}

        def other_session() -> None:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")
                    other = order_with_lines("R2", date(2026, 1, 11), (item, 1, lot))
                outcome["line"] = OrderLine.objects.get(order=other).lot_id  # committed
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '300ms'")
                    lot_update(lot=lot, quantity=12)
                outcome["edited"] = True
            except BaseException as error:  # noqa: BLE001  (reported below)
                outcome["error"] = error
            finally:
                connections.close_all()

        # when: another session adds a line naming the held lot, then tries to edit the lot
        worker = threading.Thread(target=other_session)
        worker.start()
        worker.join(30)
    # then: the line was saved at once; the edit had to wait for the run (and gave up)
    assert outcome.get("line") == lot.pk, outcome
    assert "edited" not in outcome and "lock timeout" in str(outcome["error"]), outcome
    assert Lot.objects.get(pk=lot.pk).allocated_quantity == 4


def _changes(l1, l2, item) -> dict:
    """What another session does to the lots while a one-order run of 4 units has planned on L1 (10 units at
    10.0000, received Jan 5) and not written yet, and what the run then takes (lot, quantity, unit cost)."""
    from stock.services import lot_delete, lot_update

    def take(quantity):
        def allocate() -> None:
            order = order_with_lines(f"T{quantity}", date(2026, 1, 9), (item, quantity))
            allocation_run(method=Method.FIFO, orders=[order.pk], as_of=AS_OF)
        return allocate

    return {
        "cost changed": (lambda: lot_update(lot=l1, unit_cost="11.0000"), [("L1", 4, "11.0000")], 2),
        "received later": (lambda: lot_update(lot=l1, received_on=date(2026, 1, 7)), [("L2", 4, "12.0000")], 2),
        "expired": (lambda: lot_update(lot=l1, expires_on=date(2026, 1, 20)), [("L2", 4, "12.0000")], 2),
        "deleted": (lambda: lot_delete(lot=l1), [("L2", 4, "12.0000")], 2),
        "stock taken": (take(8), [("L1", 2, "10.0000"), ("L2", 2, "12.0000")], 2),
        "room left": (take(3), [("L1", 4, "10.0000")], 1),
    }


@pytest.mark.parametrize("dated", ["today", "in a past period"])
@pytest.mark.parametrize("change", ["cost changed", "received later", "expired", "deleted", "stock taken", "room left"])
def test_a_one_order_run_plans_on_unlocked_lots_and_plans_again_locking_them_if_one_moved(
    postgres_only, transactional_db, monkeypatch, books_balance, change, dated,
):
    """A one-order FIFO run reads its lots without locking them, so another session changes them at once; its
    closing statement then takes from a lot only while it is as read and holds enough, else the run is planned
    again (its first write rolled back), this time locking its lots. Dated today it runs in a transaction of
    its own (allocation.sql.own_transaction), else in Django's."""
    from django.db import transaction

    # given: a run of R1 (4 units) that has planned on L1 and stops before it writes
    item = ItemFactory(item_code="WIDGET")
    l1 = LotFactory(reference="L1", item=item, quantity=10, unit_cost="10.0000", received_on=date(2026, 1, 5))
    l2 = LotFactory(reference="L2", item=item, quantity=10, unit_cost="12.0000", received_on=date(2026, 1, 6))
    order = order_with_lines("R1", date(2026, 1, 10), (item, 4))
    other, expected, writes_expected = _changes(l1, l2, item)[change]
    as_of = None if dated == "today" else AS_OF
    with run_paused_before_writing(
            monkeypatch, lambda: allocation_run(method=Method.FIFO, orders=[order.pk], as_of=as_of)) as paused:
        # when: another session changes the lots, and does not wait for the run
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '300ms'")
            other()
    # then
    assert paused.errors == []
    assert [w.seen is not None for w in paused.writes] == [True] + [False] * (writes_expected - 1)
    assert paused.writes[0].commits == (dated == "today")
    taken = AllocationResult.objects.filter(order=order).order_by("lot__reference")
    assert [(r.lot.reference, r.allocated_quantity, str(r.unit_cost)) for r in taken] == expected
    assert Order.objects.get(pk=order.pk).status == "allocated"
    assert_no_oversell(books_balance)


def test_runs_plan_on_unlocked_lots_only_when_small_and_costed_at_the_lot(postgres_only, db):
    from django.utils import timezone

    from allocation.parameters import RunRequest
    from allocation.services import UNLOCKED_PLAN_ORDERS, _plans_unlocked

    def plans_unlocked(method, orders, **options) -> bool:
        return _plans_unlocked(RunRequest.of(method=method, orders=orders, as_of=AS_OF, **options).new_run(None))

    assert all(plans_unlocked(method, [1]) for method in (Method.FIFO, Method.LIFO, Method.FEFO, Method.SPECIFIC))
    assert not any(plans_unlocked(method, [1]) for method in (
        Method.AVERAGE, Method.MOVING_AVERAGE, Method.TOTAL_AVERAGE, Method.LAST_PURCHASE))
    assert plans_unlocked(Method.FIFO, list(range(1, UNLOCKED_PLAN_ORDERS + 1)))
    assert not plans_unlocked(Method.FIFO, list(range(1, UNLOCKED_PLAN_ORDERS + 2)))
    assert not plans_unlocked(Method.FIFO, None)  # every open order
    assert not plans_unlocked(Method.FIFO, [1], dry_run=True)  # locks nothing at all
    queued = RunRequest.of(method=Method.FIFO, orders=[1], as_of=AS_OF).new_run(None)
    queued.status, queued.started_at = "queued", timezone.now()
    queued.save()  # a queued run is saved before it runs
    assert not _plans_unlocked(queued)


def test_a_one_order_run_commits_in_its_closing_statement_and_leaves_the_session_clean(
    postgres_only, transactional_db, monkeypatch,
):
    """A one-order run outside any transaction runs in a transaction of its own: its first statement carries
    the BEGIN and its closing statement the COMMIT (the run is committed by then), and Django sends neither:
    no COMMIT outside a transaction (a warning in the server's log), and the session is left in autocommit."""
    from django.db import connections

    from allocation import writes

    item = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=item, quantity=10, received_on=date(2026, 1, 5))
    order = order_with_lines("R1", date(2026, 1, 10), (item, 4))
    committed_before_django = []
    write_run = writes.write_run

    def watched_write_run(*args, **kwargs):
        write_run(*args, **kwargs)
        other = connections.create_connection("default")  # another session sees the run already
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT allocated_quantity FROM stock_lot WHERE reference = 'L1'")
                committed_before_django.append(cursor.fetchone()[0])
        finally:
            other.close()

    monkeypatch.setattr(writes, "write_run", watched_write_run)
    connection.ensure_connection()
    connection.connection.notices.clear()
    report = allocation_run(method=Method.FIFO, orders=[order.pk])  # today: a past period's lock needs Django's
    assert committed_before_django == [4]
    assert report.run.pk and report.run.allocated_quantity == 4
    assert not connection.in_atomic_block and connection.get_autocommit()
    assert not any("transaction in progress" in notice for notice in connection.connection.notices)
    with connection.cursor() as cursor:
        cursor.execute("SELECT now() = statement_timestamp()")  # not inside a transaction left open
        assert cursor.fetchone()[0]
    assert AllocationResult.objects.get(order=order).allocated_quantity == 4


def test_a_run_refused_in_a_transaction_of_its_own_rolls_it_back(postgres_only, transactional_db):
    from django.db import connections

    from allocation.domain import InsufficientStock

    item = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=item, quantity=3, received_on=date(2026, 1, 5))
    order = order_with_lines("R1", date(2026, 1, 10), (item, 4))
    connection.ensure_connection()
    connection.connection.notices.clear()
    with pytest.raises(InsufficientStock):  # today, all or nothing: refused after the order was locked
        allocation_run(method=Method.FIFO, orders=[order.pk], allow_partial=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT now() = statement_timestamp()")  # not inside a transaction left open
        assert cursor.fetchone()[0]
    assert not any("transaction in progress" in notice for notice in connection.connection.notices)
    other = connections.create_connection("default")  # the order's lock went with the rollback
    try:
        with other.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
            cursor.execute("SELECT id FROM orders_order WHERE id = %s FOR UPDATE", [order.pk])
            assert cursor.fetchone() == (order.pk,)
    finally:
        other.close()
    assert AllocationResult.objects.count() == 0 and Lot.objects.get().allocated_quantity == 0


@pytest.mark.parametrize("door", ["api", "admin", "command"])
def test_every_door_allocating_one_order_today_plans_unlocked_in_a_transaction_of_its_own(
    postgres_only, transactional_db, monkeypatch, books_balance, door,
):
    """The API, the admin's action and the `allocate` command all reach the same one-order path: lots read
    unlocked, taken and committed by the closing statement, the session left in autocommit."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from allocation import writes
    from tests.api_support import API, client_for

    item = ItemFactory(item_code="WIDGET")
    LotFactory(reference="L1", item=item, quantity=10, received_on=date(2026, 1, 5))
    order = order_with_lines("R1", date(2026, 1, 10), (item, 4))
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "s3cret-pass-123")
    today = timezone.localdate().isoformat()
    written, write_run = [], writes.write_run

    def watched_write_run(run, w, now):
        written.append(w)
        return write_run(run, w, now)

    monkeypatch.setattr(writes, "write_run", watched_write_run)
    # when
    if door == "api":
        response = client_for(boss).post(f"{API}allocate/", {"method": "FIFO", "orders": [order.pk]}, format="json")
        assert response.status_code == 201, response.content
    elif door == "admin":
        admin = Client()
        admin.force_login(boss)
        response = admin.post("/admin/orders/order/allocate/", {
            "method": "FIFO", "policy": "order_date", "as_of": today, "allow_partial": "on", "allow_inbound": "on",
            "allocate": "1", "_selected_action": [order.pk], "select_across": "0"}, follow=True)
        assert response.status_code == 200
    else:
        call_command("allocate", "--method", "FIFO", "--orders", str(order.pk), stdout=io.StringIO())
    # then
    assert [(w.seen is not None, w.commits) for w in written] == [(True, True)]
    assert AllocationResult.objects.get(order=order).allocated_quantity == 4
    assert Order.objects.get(pk=order.pk).status == "allocated"
    assert not connection.in_atomic_block and connection.get_autocommit()
    assert_no_oversell(books_balance)


def test_a_one_order_run_today_writes_everything_else_before_it_waits_for_its_lot(postgres_only, transactional_db):
    """The closing round trip of a run in a transaction of its own writes the run, its results, outcome, event
    and history (their references checked then) in one statement, and only then updates the lots in another:
    a run queued behind a hot lot holds it for that UPDATE and the COMMIT alone."""
    from django.db import connections

    item = ItemFactory(item_code="WIDGET")
    lot = LotFactory(reference="L1", item=item, quantity=10, received_on=date(2026, 1, 5))
    order = order_with_lines("R1", date(2026, 1, 10), (item, 4))
    holder, watcher = connections.create_connection("default"), connections.create_connection("default")
    try:
        with watcher.cursor() as cursor:
            cursor.execute("SELECT last_value FROM allocation_allocationresult_id_seq")
            results_before = cursor.fetchone()[0]
        holder.set_autocommit(False)
        with holder.cursor() as cursor:  # another run's hold on the lot, as a run takes it
            cursor.execute("UPDATE stock_lot SET allocated_quantity = allocated_quantity WHERE id = %s", [lot.pk])
            cursor.execute("SELECT pg_backend_pid()")
            holder_pid = cursor.fetchone()[0]
        # when: the run reaches the lot
        errors: list = []
        runner = threading.Thread(target=lambda: errors.extend(
            at_once([lambda: allocation_run(method=Method.FIFO, orders=[order.pk])])))
        runner.start()
        with watcher.cursor() as cursor:
            for _ in range(300):
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                               [holder_pid])
                if cursor.fetchone()[0]:
                    break
                threading.Event().wait(0.01)
            else:
                pytest.fail("the run never waited for the lot")
            # then: it has inserted its result already (its id drawn), and waits for the lot's UPDATE
            cursor.execute("SELECT last_value FROM allocation_allocationresult_id_seq")
            assert cursor.fetchone()[0] > results_before
            cursor.execute("SELECT query FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [holder_pid])
            assert "SET CONSTRAINTS ALL IMMEDIATE" in cursor.fetchone()[0]
        holder.rollback()
        runner.join(30)
    finally:
        holder.close()
        watcher.close()
    assert errors == []
    assert AllocationResult.objects.get(order=order).allocated_quantity == 4
    assert Lot.objects.get(pk=lot.pk).allocated_quantity == 4


@pytest.mark.parametrize("method", [Method.FIFO, Method.LIFO, Method.FEFO, Method.SPECIFIC])
@pytest.mark.parametrize("allow_inbound", [True, False])
def test_a_run_of_a_few_orders_on_unlocked_lots_answers_as_a_dry_run_reading_them_one_table_at_a_time(
    postgres_only, db, method, allow_inbound,
):
    """A run of a few named orders reads its orders, lines and lots in one round trip (loads.few_orders); a dry
    run reads them table by table. On the same books both give the same picks and outcomes: cancelled and
    later-dated orders, lines partly allocated already, lines naming a lot, expired, full and inbound lots."""
    from allocation.releases import order_cancel

    widget, gadget, other = ItemFactory(item_code="WIDGET"), ItemFactory(item_code="GADGET"), ItemFactory()
    w1 = LotFactory(reference="W1", item=widget, quantity=6, unit_cost="10.0000", received_on=date(2026, 1, 2),
                    expires_on=date(2026, 3, 1))
    LotFactory(reference="W2", item=widget, quantity=9, unit_cost="11.0000", received_on=date(2026, 1, 4),
               expires_on=date(2026, 2, 1))
    LotFactory(reference="W3", item=widget, quantity=5, unit_cost="12.0000", received_on=None, eta=date(2026, 2, 9))
    LotFactory(reference="W4", item=widget, quantity=4, unit_cost="9.0000", received_on=date(2026, 1, 1),
               expires_on=date(2026, 1, 20))  # expired by the run's date
    g1 = LotFactory(reference="G1", item=gadget, quantity=3, unit_cost="5.0000", received_on=date(2026, 1, 3))
    LotFactory(reference="X1", item=other, quantity=50, received_on=date(2026, 1, 3))  # no order wants it
    partly = order_with_lines("P", date(2026, 1, 5), (widget, 8), (gadget, 2, g1))
    allocation_run(method=Method.FIFO, orders=[partly.pk], as_of=date(2026, 1, 6), allow_partial=True)
    OrderLine = partly.lines.model
    OrderLine.objects.filter(order=partly, item=widget).update(quantity=12)  # more wanted since
    cancelled = order_with_lines("C", date(2026, 1, 6), (widget, 3))
    order_cancel(order=cancelled)
    later = order_with_lines("L", date(2026, 2, 1), (widget, 2))
    named = order_with_lines("N", date(2026, 1, 7), (widget, 4, w1), (gadget, 5))
    plain = order_with_lines("Q", date(2026, 1, 8), (widget, 7), (gadget, 1, g1))
    ids = [o.pk for o in (partly, cancelled, later, named, plain)]

    def answer(**options):
        report = allocation_run(method=method, orders=ids, as_of=AS_OF, allow_inbound=allow_inbound, **options)
        picks = sorted((p.order_id, p.line_id, p.lot_id, p.quantity, str(p.unit_cost)) for p in report.picks)
        return picks, report.outcomes

    # when / then
    preview = answer(dry_run=True)
    assert answer() == preview
    assert preview[0]  # something was allocated
