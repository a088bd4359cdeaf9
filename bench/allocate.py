"""Benchmark one allocation run over a generated data set.

    python bench/allocate.py                       # SQLite (a fresh file), FIFO, 1,000 items, 20,000 lots, 50,000 lines
    python bench/allocate.py --method AVERAGE --lines 500000
    python bench/allocate.py --db postgres://postgres@127.0.0.1:5432/postgres --json
    python bench/allocate.py --lots 8000 --policy fair_share   # 8 lots an item: most items are scarce
    python bench/allocate.py --compare                          # every method side by side, then one run

Prints lines/second, the wall time of `allocation_run` (loading, locking,
allocating, writing and commit), its SQL queries and the peak memory of the
process that ran it. With --json the last line is one JSON object with the
keys lines, wall_s, lines_per_second, queries, peak_mb, floor_s, floor_ratio and stages_s. The data set is
made in a child process, so the peak memory is that of the run (plus Django).

After the run, in the same process and on the same data, it measures the floor (`bench/floor.py`): the
driver-level reads of the three tables and writes of the same rows; floor_ratio = wall_s / floor_s is the
figure that compares across machines. stages_s splits the run: load, plan, outcomes, write, commit.
--profile also prints cProfile's 30 costliest calls (to stderr).

With --compare it first times the comparison of every method (`allocation.comparison`, dry runs over the
same data) and its peak memory (compare_s, compare_peak_mb), then the run as above, and prints the ratio
compare_s / wall_s (the target is at most 8).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.floor import floor, stage_timer  # noqa: E402


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_alloc.settings")
    import django

    django.setup()


@contextmanager
def counting_queries() -> Iterator[dict]:
    """Count the SQL statements run inside the block (COPY included: it is one statement)."""
    from django.db import connection

    counted = {"queries": 0}

    def count(execute, sql, params, many, context):
        counted["queries"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counted


def generate(url: str, items: int, lots: int, lines: int, seed: int) -> None:
    """Migrate a fresh database and fill it with items, lots and open orders."""
    _setup_django(url)
    from django.core.management import call_command
    from django.db import transaction

    from orders.models import Customer, Order, OrderLine
    from stock.models import Item, Lot

    call_command("migrate", verbosity=0)
    rng = random.Random(seed)
    start = date(2026, 1, 1)
    with transaction.atomic():
        Item.objects.bulk_create(
            [Item(item_code=f"ITEM{i:05d}", name=f"Item {i}", unit_price=10) for i in range(items)], batch_size=5000,
        )
        item_ids = list(Item.objects.values_list("id", flat=True))
        lot_rows = []
        for n in range(lots):
            received = start + timedelta(days=rng.randrange(0, 200))
            lot = Lot(reference=f"L{n:07d}", item_id=item_ids[n % len(item_ids)], quantity=rng.randrange(50, 500),
                      unit_cost=f"{rng.randrange(500, 1500) / 100:.4f}", received_on=received)
            if n % 10 == 0:
                lot.received_on, lot.eta = None, start + timedelta(days=rng.randrange(200, 260))
            if n % 7 == 0:
                lot.expires_on = start + timedelta(days=rng.randrange(150, 400))
            lot_rows.append(lot)
        Lot.objects.bulk_create(lot_rows, batch_size=5000)
        customers = Customer.objects.bulk_create([Customer(code=f"C{c:04d}", name=f"Customer {c}") for c in range(200)])
        order_count = max(1, lines * 2 // 5)
        Order.objects.bulk_create(
            [Order(order_number=f"B{o:07d}", customer=customers[o % len(customers)],
                   order_date=start + timedelta(days=rng.randrange(0, 200)), priority=rng.randrange(0, 5))
             for o in range(order_count)], batch_size=5000,
        )
        order_ids = list(Order.objects.values_list("id", flat=True))
        lots_of: dict[int, list[int]] = {}
        for lot_id, item_id in Lot.objects.values_list("id", "item_id"):
            lots_of.setdefault(item_id, []).append(lot_id)
        line_rows = []
        for n in range(lines):
            item_id = rng.choice(item_ids)
            # every line names a lot of its item, which only SPECIFIC reads
            line_rows.append(OrderLine(order_id=order_ids[n % len(order_ids)], item_id=item_id,
                                       quantity=rng.randrange(1, 100), unit_price=10, lot_id=rng.choice(lots_of[item_id])))
        OrderLine.objects.bulk_create(line_rows, batch_size=5000)


def run(url: str, method: str, policy: str, compare: bool = False, profile: bool = False) -> dict:
    """Run the allocation over all open orders and return the figures (with `compare`, first compare every method)."""
    _setup_django(url)
    from django.db import connection

    from allocation.comparison import methods_compare
    from allocation.parameters import RunRequest
    from allocation.services import allocation_run
    from orders.models import OrderLine

    lines = OrderLine.objects.count()
    compared = {}
    if compare:
        began = time.perf_counter()
        comparison = methods_compare(RunRequest(method=method, policy=policy, as_of=date(2026, 8, 1)))
        compared = {"compare_s": round(time.perf_counter() - began, 3), "methods": len(comparison.figures),
                    "compare_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
        del comparison
    profiler = cProfile.Profile() if profile else None
    with counting_queries() as counted, stage_timer() as stages:
        began = time.perf_counter()
        if profiler:
            profiler.enable()
        report = allocation_run(method=method, policy=policy, as_of=date(2026, 8, 1))
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - began
    queries = counted["queries"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
        print(text.getvalue(), file=sys.stderr)
    least = floor(report)
    figures = {
        "method": method, "policy": policy, "database": connection.vendor, "lines": lines,
        "orders": report.run.orders_considered, "results": len(report.picks), "wall_s": round(wall, 3),
        "lines_per_second": round(lines / wall), "queries": queries, "peak_mb": round(peak_mb, 1), **compared,
        **least, "floor_ratio": round(wall / least["floor_s"], 2),
        "stages_s": {stage: round(seconds, 3) for stage, seconds in stages.items()},
    }
    if compare:
        figures["compare_ratio"] = round(compared["compare_s"] / wall, 2)
    return figures


@contextmanager
def scratch_database(db: str, prefix: str = "bench") -> Iterator[str]:
    """Yield the URL of a fresh database, dropped afterwards.

    `db` is "sqlite" (a file in a temporary folder) or a PostgreSQL server URL
    (a new database on that server, dropped even if a client is still connected).
    """
    with tempfile.TemporaryDirectory(prefix=f"ia-{prefix}-") as workdir:
        if db == "sqlite":
            yield f"sqlite:///{workdir}/bench.sqlite3"
            return
        parts = urlsplit(db)
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        _postgres_admin(db, f"CREATE DATABASE {name}")
        try:
            yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
        finally:
            _postgres_admin(db, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _postgres_admin(url: str, sql: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    conn = psycopg2.connect(urlunsplit((parts.scheme, parts.netloc, "/postgres", "", "")))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql)
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help='"sqlite" (a fresh file) or a PostgreSQL URL')
    parser.add_argument("--method", default="FIFO")
    parser.add_argument("--policy", default="order_date")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--lots", type=int, default=20000)
    parser.add_argument("--lines", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--compare", action="store_true", help="first compare every method over the same data")
    parser.add_argument("--profile", action="store_true", help="print cProfile's 30 costliest calls of the run (stderr)")
    parser.add_argument("--stage", choices=["generate", "run"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.stage == "generate":
        generate(args.url, args.items, args.lots, args.lines, args.seed)
        return 0
    if args.stage == "run":
        print(json.dumps(run(args.url, args.method, args.policy, args.compare, args.profile)))
        return 0

    with scratch_database(args.db) as url:
        common = [sys.executable, __file__, "--url", url]
        began = time.perf_counter()
        subprocess.run(common + ["--stage", "generate", "--items", str(args.items), "--lots", str(args.lots),
                                 "--lines", str(args.lines), "--seed", str(args.seed)], check=True)
        if not args.json:
            print(f"generated {args.items} items, {args.lots} lots, {args.lines} lines "
                  f"in {time.perf_counter() - began:.1f} s")
        out = subprocess.run(common + ["--stage", "run", "--method", args.method, "--policy", args.policy]
                             + (["--compare"] if args.compare else []) + (["--profile"] if args.profile else []),
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        figures = json.loads(out.strip().splitlines()[-1])
    if not args.json:
        print(f"{figures['method']} on {figures['database']}: {figures['lines']} lines ({figures['orders']} orders, "
              f"{figures['results']} results) in {figures['wall_s']:.3f} s = {figures['lines_per_second']} lines/s, "
              f"{figures['queries']} queries, peak {figures['peak_mb']} MB (policy {figures['policy']})")
        print(f"floor (driver-level reads {figures['floor_read_s']:.3f} s + writes {figures['floor_write_s']:.3f} s) "
              f"{figures['floor_s']:.3f} s: the run is {figures['floor_ratio']} x the floor")
        print("stages: " + ", ".join(f"{stage} {seconds:.3f} s" for stage, seconds in figures["stages_s"].items()))
        if args.compare:
            print(f"compared {figures['methods']} methods in {figures['compare_s']:.3f} s = "
                  f"{figures['compare_ratio']} x the run, peak {figures['compare_peak_mb']} MB")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
