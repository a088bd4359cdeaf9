"""Time every admin page a clerk opens, over a big history.

    python bench/admin_pages.py                       # SQLite (a fresh file)
    python bench/admin_pages.py --db postgres://postgres@127.0.0.1:5432/postgres --json
    python bench/admin_pages.py --repeats 3           # quicker

Generates, in a child process, the data set of `bench/allocate.py --lines 250000` (1,000 items in two
categories, 20,000 lots, 100,000 orders of 2.5 lines on average, 200 customers) and 2,000 payments, then:
one FIFO run over every open order (as of 2026-08-01); 3 webhook endpoints; 1,000 lots received in
September; a second, TOTAL_AVERAGE run over 1,000 of the orders left short (as of 2026-09-15: its events
are delivered to the endpoints, every tenth delivery failed after 3 attempts); January closed; a group,
and three API tokens of the superuser "bench" (one blacklisted).

Then, in another process, with DEBUG off and Django's test client logged in as "bench", opens each page
once to warm up and --repeats more times (default 7): the admin index (the dashboard), the list of every
registered ModelAdmin and the change page of one object of each, the lists of orders and lots searched
and filtered, and the pages of our own: the action pages of the order list (allocate, release, cancel,
ship: POSTed as a browser does for 100 ticked orders), the allocation Preview (a dry run of them), a
run's page with its short orders only, the pick lists of a run and of an order, and the period close
page and its Preview. The pages are opened right after the data set is made, before PostgreSQL's
autovacuum analyses the new rows; --analyze runs ANALYZE first. Prints each page's median and max time,
SQL queries and bytes. A page that does not answer 200 (or not the page expected) is printed and the
benchmark exits 1. With --json the last line is one JSON object. The scratch database is removed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.allocate import _setup_django, counting_queries, generate, scratch_database  # noqa: E402

SLOW_MS = 300  # a page slower than this (median) is flagged
SLOW_WARM_UP_S = 3.0  # a page whose warm-up took longer is timed REPEATS_WHEN_SLOW times only (the whole run
REPEATS_WHEN_SLOW = 2  # stays within a few minutes)
SHORT_ORDERS = 1000  # orders of the second run
PICKED = 100  # orders ticked on the order list for the action pages
ORDERS = "/admin/orders/order/"
SHORT = "?status__exact=partially_allocated"
# DEBUG off, plain HTTP on the test client's host, only errors logged, no dispatcher thread after a run's
# commit, endpoints on any host (no DNS lookup), no warning that collectstatic never ran.
CHILD_ENV = {"DJANGO_DEBUG": "0", "DJANGO_SECURE": "0", "DJANGO_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
             "DJANGO_LOG_LEVEL": "ERROR", "EVENTS_KICK": "off", "WEBHOOK_ALLOW_PRIVATE": "1",
             "PYTHONWARNINGS": "ignore:No directory at:UserWarning"}


# --- the data set -------------------------------------------------------------------------------

def generate_history(url: str, lines: int, seed: int) -> None:
    """Generate the orders and lots of bench/allocate.py, then the history the pages show (see the docstring)."""
    generate(url, items=1000, lots=20_000, lines=lines, seed=seed)
    from django.contrib.auth.models import Group, Permission, User
    from rest_framework_simplejwt.tokens import RefreshToken

    from allocation.models import Delivery, DeliveryAttempt, DeliveryStatus
    from allocation.periods import period_close
    from allocation.services import allocation_run
    from allocation.webhooks import webhook_create
    from orders.models import Customer, Order, OrderStatus, Payment, PaymentStatus
    from stock.models import Item, Lot

    user = User.objects.create_superuser("bench", "bench@example.com", "bench-0123456")
    Item.objects.filter(item_code__lt="ITEM00500").update(category="Bolts")
    Item.objects.filter(item_code__gte="ITEM00500").update(category="Nuts")
    start = date(2026, 1, 1)
    Payment.objects.bulk_create([
        Payment(customer_id=customer, amount=100 + n, due_date=start + timedelta(days=17 * n + customer % 30),
                paid_on=start + timedelta(days=17 * n + 10) if n % 2 else None,
                status=PaymentStatus.PAID if n % 2 else PaymentStatus.PENDING)
        for customer in Customer.objects.values_list("id", flat=True) for n in range(10)])

    allocation_run(method="FIFO", as_of=date(2026, 8, 1), user=user)
    for n in range(3):
        webhook_create(url=f"https://hooks{n}.example.com/inventory", description=f"ERP {n}", user=user)
    Lot.objects.bulk_create([Lot(reference=f"S{item:05d}", item_id=item, quantity=300, unit_cost="12.5000",
                                 received_on=date(2026, 9, 1)) for item in Item.objects.values_list("id", flat=True)])
    short = Order.objects.filter(status=OrderStatus.PARTIALLY_ALLOCATED).order_by("id").values_list("id", flat=True)
    allocation_run(method="TOTAL_AVERAGE", orders=list(short[:SHORT_ORDERS]), as_of=date(2026, 9, 15), user=user)

    failed = list(Delivery.objects.order_by("id").values_list("id", flat=True))[::10]
    at = date(2026, 9, 16)
    DeliveryAttempt.objects.bulk_create([
        DeliveryAttempt(delivery_id=delivery, attempted_at=f"{at}T0{n}:00:00Z", response_status=503,
                        error=f"HTTP 503 (try {n + 1})") for delivery in failed for n in range(3)])
    Delivery.objects.filter(id__in=failed).update(status=DeliveryStatus.FAILED, attempts=3, last_response_status=503,
                                                  last_error="HTTP 503")
    period_close(period="2026-01", user=user)
    Group.objects.create(name="clerks").permissions.set(
        Permission.objects.filter(content_type__app_label__in=["stock", "orders", "allocation"]))
    tokens = [RefreshToken.for_user(user) for _ in range(3)]
    tokens[0].blacklist()


# --- the pages ----------------------------------------------------------------------------------

def shown_objects() -> dict[str, object]:
    """Return, per model label, the object whose change page is timed: one a clerk opens, else the first."""
    from allocation.models import AllocationRun, Delivery, DeliveryStatus, Event
    from orders.models import Order, OrderStatus
    from stock.models import Lot

    fifo = AllocationRun.objects.filter(method="FIFO")
    return {
        "orders.Order": Order.objects.filter(status=OrderStatus.PARTIALLY_ALLOCATED),  # read only: it holds picks
        "stock.Lot": Lot.objects.filter(allocated_quantity__gt=0),  # lists the orders holding it
        "allocation.AllocationRun": fifo,  # 100,000 outcomes, paged
        "allocation.Event": Event.objects.filter(run__in=fifo),
        "allocation.Delivery": Delivery.objects.filter(status=DeliveryStatus.FAILED),  # with its attempts
    }


def pages() -> list[dict]:
    """Return every page to time: name, method, path, POST data and a text the right answer holds."""
    from django.contrib import admin
    from django.urls import reverse

    from allocation.models import AllocationRun
    from orders.models import Order, OrderStatus
    from stock.models import Lot

    found, chosen = [], shown_objects()

    def page(name: str, path: str, data: dict | None = None, expect: str = "") -> None:
        found.append({"name": name, "method": "POST" if data else "GET", "path": path, "data": data, "expect": expect})

    page("index (dashboard)", reverse("admin:index"), expect="backoffice-dashboard")
    registry = sorted(admin.site._registry.items(), key=lambda entry: entry[0]._meta.label)
    for model, _model_admin in registry:
        opts = model._meta
        page(f"list {opts.label}", reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    for model, _model_admin in registry:
        opts = model._meta
        pk = chosen.get(opts.label, model._default_manager.all()).order_by("pk").values_list("pk", flat=True).first()
        if pk is None:
            raise SystemExit(f"no {opts.label} to open: the data set should hold one of each")
        page(f"change {opts.label}", reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk]))

    number = Order.objects.order_by("id").values_list("order_number", flat=True)[Order.objects.count() // 2]
    reference = Lot.objects.order_by("id").values_list("reference", flat=True)[Lot.objects.count() // 2]
    page("orders: search an order number", f"{ORDERS}?q={number}", expect=number)
    page("orders: filter partly allocated", ORDERS + SHORT)
    allocated_column = ["action_checkbox", *admin.site._registry[Order].list_display].index("allocated")
    page("orders: sorted by allocated", f"{ORDERS}?o=-{allocated_column}")
    page("lots: search a lot reference", f"/admin/stock/lot/?q={reference}", expect=reference)
    page("lots: filter by category", "/admin/stock/lot/?item__category=Bolts")

    ticked = list(Order.objects.filter(status=OrderStatus.PARTIALLY_ALLOCATED).order_by("-order_date", "-id")
                  .values_list("id", flat=True)[:PICKED])
    selection = {"_selected_action": ticked, "select_across": "0", "index": "0"}
    for action, expect in (("allocate_orders", "allocate-form"),
                           ("release_allocations", reverse("admin:orders_order_release")),
                           ("cancel_orders", reverse("admin:orders_order_cancel")),
                           ("ship_orders", reverse("admin:orders_order_ship"))):
        page(f"action page: {action} ({PICKED} orders)", ORDERS + SHORT, {"action": action, **selection}, expect)
    parameters = {"method": "FIFO", "policy": "order_date", "as_of": "2026-09-15", "allow_partial": "on",
                  "allow_inbound": "on", "preview": "1"}
    page(f"allocate: Preview ({PICKED} orders, a dry run)", reverse("admin:orders_order_allocate") + SHORT,
         {**parameters, **selection}, expect='id="preview"')

    fifo = AllocationRun.objects.filter(method="FIFO").values_list("id", flat=True).get()
    page("run page: short orders only", reverse("admin:allocation_allocationrun_change", args=[fifo]) + "?short=1")
    page("run page: results page 500", reverse("admin:allocation_allocationrun_change", args=[fifo]) + "?results=500")
    page("pick list of the FIFO run", reverse("admin:allocation_allocationrun_pick_list", args=[fifo]))
    last = AllocationRun.objects.exclude(id=fifo).values_list("id", flat=True).get()
    page("pick list of the TOTAL_AVERAGE run", reverse("admin:allocation_allocationrun_pick_list", args=[last]))
    order = chosen["orders.Order"].order_by("pk").values_list("pk", flat=True).first()
    page("pick list of an order", reverse("admin:orders_order_pick_list", args=[order]))
    page("period close page", reverse("admin:allocation_closedperiod_close"), expect="close-period-form")
    page("period close: Preview 2026-09", reverse("admin:allocation_closedperiod_close"),
         {"period": "2026-09", "preview": "1"}, expect='name="close"')
    return found


def timed(client, page: dict, repeats: int) -> dict:
    """Open `page` once, then `repeats` times; return its median and max ms, queries, bytes (or its failure)."""
    seconds: list[float] = []
    while len(seconds) <= repeats:  # the first is the warm-up
        with counting_queries() as counted:
            began = time.perf_counter()
            if page["method"] == "POST":
                response = client.post(page["path"], page["data"])
            else:
                response = client.get(page["path"])
            took = time.perf_counter() - began
        body = response.content
        if response.status_code != 200 or page["expect"].encode() not in body:
            return {"name": page["name"], "path": page["path"], "status": response.status_code,
                    "error": f"answered {response.status_code}, expected 200 with {page['expect']!r}: "
                             f"{body[:300].decode(errors='replace')}"}
        if not seconds and took > SLOW_WARM_UP_S:
            repeats = min(repeats, REPEATS_WHEN_SLOW)
        seconds.append(took)
    timings = seconds[1:]
    return {"name": page["name"], "path": page["path"], "status": 200, "repeats": len(timings),
            "median_ms": round(statistics.median(timings) * 1000, 1), "max_ms": round(max(timings) * 1000, 1),
            "queries": counted["queries"], "bytes": len(body)}


def stage_measure(repeats: int, *, analyze: bool) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from allocation.models import AllocationResult, Delivery, Event
    from orders.models import Order, OrderLine
    from stock.models import Lot

    if analyze:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    counts = {"orders": Order.objects.count(), "lines": OrderLine.objects.count(), "lots": Lot.objects.count(),
              "results": AllocationResult.objects.count(), "events": Event.objects.count(),
              "deliveries": Delivery.objects.count()}
    measured = [timed(client, page, repeats) for page in pages()]
    return {"database": connection.vendor, **counts, "repeats": repeats, "analyze": analyze, "pages": measured,
            "failures": [page for page in measured if page["status"] != 200]}


# --- the parent process -------------------------------------------------------------------------

def child(url: str, stage: str, args: argparse.Namespace) -> str:
    command = [sys.executable, __file__, "--url", url, "--stage", stage, "--lines", str(args.lines),
               "--repeats", str(args.repeats), "--seed", str(args.seed)] + ["--analyze"] * args.analyze
    return subprocess.run(command, env={**os.environ, **CHILD_ENV}, check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def report(figures: dict) -> None:
    print(f"{figures['database']}: {figures['orders']:,} orders, {figures['lines']:,} lines, {figures['lots']:,} lots, "
          f"{figures['results']:,} results, {figures['events']:,} events, {figures['deliveries']:,} deliveries "
          f"(generated in {figures['generate_s']} s){'; ANALYZE before the pages' if figures['analyze'] else ''}")
    print(f"{'page':52} {'median':>10} {'max':>10} {'queries':>8} {'bytes':>11}")
    for page in figures["pages"]:
        if page["status"] != 200:
            print(f"{page['name']:52} FAILED: {page['error']}")
            continue
        flag = f"  over {SLOW_MS} ms" if page["median_ms"] > SLOW_MS else ""
        fewer = f"  ({page['repeats']} repeats)" if page["repeats"] < figures["repeats"] else ""
        print(f"{page['name']:52} {page['median_ms']:>7.1f} ms {page['max_ms']:>7.1f} ms {page['queries']:>8} "
              f"{page['bytes']:>11,}{flag}{fewer}")
    print(f"{len(figures['pages'])} pages, {len(figures['failures'])} failed; whole benchmark {figures['total_s']} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help='"sqlite" (a fresh file) or a PostgreSQL URL')
    parser.add_argument("--lines", type=int, default=250_000, help="order lines generated (2.5 an order)")
    parser.add_argument("--repeats", type=int, default=7, help="timed requests per page, after one warm-up")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--analyze", action="store_true", help="ANALYZE before the pages are timed")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--stage", choices=["generate", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.stage == "generate":
        generate_history(args.url, args.lines, args.seed)
        return 0
    if args.stage == "measure":
        _setup_django(args.url)
        print(json.dumps(stage_measure(args.repeats, analyze=args.analyze)))
        return 0

    began = time.perf_counter()
    with scratch_database(args.db, "bench_pages") as url:
        child(url, "generate", args)
        generated = round(time.perf_counter() - began, 1)
        if not args.json:
            print(f"generated the data set in {generated} s; timing the pages ...", flush=True)
        figures = json.loads(child(url, "measure", args).splitlines()[-1])
    figures |= {"generate_s": generated, "total_s": round(time.perf_counter() - began, 1)}
    report(figures)
    if args.json:
        print(json.dumps(figures))
    return 1 if figures["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
