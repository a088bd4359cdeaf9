"""Benchmark concurrent single-order runs on one scarce item (PostgreSQL).

    python bench/concurrency.py                               # local server, 8 processes
    python bench/concurrency.py --db postgres://user@host:5432/postgres --processes 8 --orders 400 --stock 2000

Each process allocates one-unit orders of the same item, one `allocation_run`
per order, all at once: the clock starts once every process has imported Django
and opened its connection (as a server's workers have). Prints orders/second over the whole burst and the
oversold quantity (active allocations beyond a lot's quantity, which must be 0),
and checks that every lot's allocated_quantity equals its active results. It also measures, inside each
run, how long the run holds the hot item's lots (what concurrent runs queue for; see `_held`), with the
median and 95th percentile, and the most the mean hold can be (the runs that took stock held the same lot rows
one after another, so the wall time shared among them); counts the runs planned again because a lot they
planned on moved; and the CPU a run costs in the processes and, when the server runs on this machine, in
their server backends (what decides the throughput once both cores are busy).
With --json the last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.allocate import _setup_django, scratch_database  # noqa: E402


def _prepare(url: str, processes: int, orders: int, stock: int) -> list[list[int]]:
    _setup_django(url)
    from datetime import date

    from django.core.management import call_command

    from orders.models import Order, OrderLine
    from stock.models import Item, Lot

    call_command("migrate", verbosity=0)
    item = Item.objects.create(item_code="SCARCE", name="Scarce item")
    per_lot = max(1, stock // 4)
    for n in range(4):
        Lot.objects.create(reference=f"S{n}", item=item, quantity=per_lot, unit_cost="10.0000",
                           received_on=date(2026, 1, 1 + n))
    made = Order.objects.bulk_create(
        [Order(order_number=f"C{n:06d}", order_date=date(2026, 1, 10)) for n in range(processes * orders)]
    )
    OrderLine.objects.bulk_create([OrderLine(order=o, item=item, quantity=1, unit_price=1) for o in made])
    ids = [o.pk for o in made]
    return [ids[p::processes] for p in range(processes)]


def _held(holds: list[float], replans: list[int]):
    """Time, inside each run, how long it holds the hot item's lots (what the other runs queue for) and append
    it to `holds`; count in `replans` the runs planned again because a lot moved.

    A run that locks its lots as it reads them holds them from that read (timed once the read has returned, so
    not its wait) to its commit. A one-order FIFO run plans on lots read unlocked and locks them only inside its
    closing statement, which also commits: its hold is at most that statement's round trip, which is what is
    timed (its wait for the lots included).
    """
    from django.db import transaction

    from allocation import loads, writes

    locking_read, write_run = loads.lots, writes.write_run

    def lots(*args, lock: bool = False, **kwargs):
        rows = locking_read(*args, lock=lock, **kwargs)  # a generator: the query runs (and waits) when read
        if lock:
            rows = list(rows)
            began = time.perf_counter()
            transaction.on_commit(lambda: holds.append(time.perf_counter() - began))
        return rows

    def closing(run, w, now):
        began = time.perf_counter()
        try:
            write_run(run, w, now)
        except writes.LotsMoved:
            replans[0] += 1
            raise
        if w.commits:  # committed by the closing statement: the lots are free again
            holds.append(time.perf_counter() - began)

    loads.lots, writes.write_run = lots, closing


def _worker(url: str, order_ids: list[int], start, queue) -> None:
    _setup_django(url)
    from django.db import connection

    from allocation.services import allocation_run

    holds: list[float] = []
    replans = [0]
    _held(holds, replans)
    connection.ensure_connection()  # as a server's worker would have: the burst times runs, not connecting
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    start.wait()  # every process is ready: the burst begins
    server_before, cpu_before = _server_cpu(backend), time.process_time()
    done = 0
    for order_id in order_ids:
        allocation_run(method="FIFO", orders=[order_id])  # as of today
        done += 1
    server_after = _server_cpu(backend)
    server = None if server_before is None or server_after is None else server_after - server_before
    queue.put((done, time.time(), holds, replans[0], time.process_time() - cpu_before, server))


def _server_cpu(pid: int) -> float | None:
    """Return the CPU seconds the server process `pid` has used, if it runs on this machine (Linux), else None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, in clock ticks


def _check(url: str) -> dict:
    _setup_django(url)
    from django.db.models import Sum

    from allocation.models import AllocationResult
    from stock.models import Lot

    oversold = 0
    mismatched = 0
    active = dict(AllocationResult.objects.active().values_list("lot_id").annotate(q=Sum("allocated_quantity")).order_by())
    for lot in Lot.objects.all():
        oversold += max(0, active.get(lot.pk, 0) - lot.quantity)
        mismatched += active.get(lot.pk, 0) != lot.allocated_quantity
    allocated = sum(active.values())
    return {"allocated": allocated, "oversold": oversold, "lots_out_of_step": mismatched}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/postgres", help="a PostgreSQL server URL")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--orders", type=int, default=300, help="orders per process")
    parser.add_argument("--stock", type=int, default=2000, help="units of the scarce item (fewer than the orders)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    ctx = multiprocessing.get_context("spawn")
    with scratch_database(args.db, "bench_conc") as url:
        with ctx.Pool(1) as pool:
            shares = pool.apply(_prepare, (url, args.processes, args.orders, args.stock))
        queue = ctx.Queue()
        # Every process imports Django and connects first (on 2 cores, 8 of them take seconds): the clock starts
        # when all are ready, so the figure is the runs' alone.
        start = ctx.Barrier(len(shares) + 1, timeout=300)
        workers = [ctx.Process(target=_worker, args=(url, share, start, queue)) for share in shares]
        for worker in workers:
            worker.start()
        start.wait()
        start_at = time.time()
        finished = [queue.get(timeout=600) for _ in workers]
        for worker in workers:
            worker.join()
        if any(worker.exitcode for worker in workers):
            print("a worker failed", file=sys.stderr)
            return 1
        wall = max(at for _, at, *_ in finished) - start_at
        runs = sum(done for done, *_ in finished)
        holds = sorted(hold for _, _, held, *_ in finished for hold in held)
        replanned = sum(count for _, _, _, count, *_ in finished)
        client_cpu = sum(cpu for *_, cpu, _ in finished)
        servers = [server for *_, server in finished]
        server_cpu = None if None in servers else sum(servers)
        with ctx.Pool(1) as pool:
            check = pool.apply(_check, (url,))
    figures = {"processes": args.processes, "orders": runs, "wall_s": round(wall, 3),
               "orders_per_second": round(runs / wall), "stock": args.stock // 4 * 4, **check,
               "hold_ms_median": round(1000 * holds[len(holds) // 2], 2) if holds else None,
               "hold_ms_p95": round(1000 * holds[int(len(holds) * 0.95)], 2) if holds else None,
               "replanned": replanned,
               # CPU a run, in the processes that run them and (on a server on this machine) in their backends
               "client_cpu_ms_per_run": round(1000 * client_cpu / runs, 2),
               "server_cpu_ms_per_run": None if server_cpu is None else round(1000 * server_cpu / runs, 2),
               # Every run that took stock updated the same few lot rows, one at a time: on average none held
               # them longer than the burst's wall time shared among those runs.
               "hold_ms_mean_at_most": round(1000 * wall / check["allocated"], 2) if check["allocated"] else None}
    if not args.json:
        print(f"{runs} single-order runs by {args.processes} processes in {wall:.2f} s = "
              f"{figures['orders_per_second']} orders/s; allocated {check['allocated']} of {figures['stock']}, "
              f"oversold {check['oversold']}, lots out of step {check['lots_out_of_step']}; the hot lots were held "
              f"{figures['hold_ms_median']} ms a run (median; p95 {figures['hold_ms_p95']} ms; the mean at most "
              f"{figures['hold_ms_mean_at_most']} ms); {replanned} runs planned again because a lot moved; CPU a run: "
              f"{figures['client_cpu_ms_per_run']} ms here, {figures['server_cpu_ms_per_run']} ms in the server")
    print(json.dumps(figures))
    return 0 if check["oversold"] == 0 and check["lots_out_of_step"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
