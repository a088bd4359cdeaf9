"""Measure how big and how slow the API's answers are once the history is big.

    python bench/api_answers.py                     # SQLite (a fresh file), 500,000 lines in 200,000 orders
    python bench/api_answers.py --db postgres://postgres@127.0.0.1:5432/postgres --json

Generates the data set of `bench/allocate.py --lines 500000` (1,000 items,
20,000 lots, 200,000 open orders) in a child process, then, in another, with
DEBUG off and Django's test client in-process (a superuser's JWT):

1. runs `allocation_run(method="FIFO")` once over every open order, then times
   `allocation-runs/`, the run's `outcomes/` (all, and `short=true`) and
   `allocation-results/?run=<id>`, each with `page_size=1000`: bytes of the
   answer, median wall time of 5 requests, SQL queries of one (target: under
   1 MB and 1 s; an answer over either is flagged). They are timed right after
   the run, before PostgreSQL's autovacuum analyses the new rows; --analyze
   runs ANALYZE first;
2. adds 100 orders of 1,000 lines (`order_create`) and times `orders/?page_size=1000`
   (a page stops before API_MAX_NESTED_ROWS lines; an order answer over 5 MB is
   flagged: Lambda answers at most 6 MB);
3. posts one order of 50,000 lines to `orders/`: refused (400) under the default
   ORDER_MAX_LINES, then accepted (201) with the limit raised at run time
   (`override_settings`) and, in a third process, from the environment; a
   1,000-line order gives the query count to compare with.

With --json the last line is one JSON object. The scratch database is removed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.allocate import _setup_django, counting_queries, generate, scratch_database  # noqa: E402

API = "/api/v1/"
# Flagged when over: an answer about a run should be under 1 MB and 1 s; a page of orders or one order a few MB
# at most, since Lambda answers at most 6 MB (the body, escaped as a string inside API Gateway's envelope).
RUN_ANSWER_TARGET = (1_000_000, 1.0)
ORDER_ANSWER_TARGET = (5_000_000, None)
# Plain HTTP on the test client's host, DEBUG off, only errors logged (a 400 would log a warning), and no
# warning that collectstatic never ran (WhiteNoise serves from the apps' folders).
CHILD_ENV = {"DJANGO_DEBUG": "0", "DJANGO_SECURE": "0", "DJANGO_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
             "DJANGO_LOG_LEVEL": "ERROR", "PYTHONWARNINGS": "ignore:No directory at:UserWarning"}


# --- requests ---------------------------------------------------------------------------------

def _client():
    """Return a test client that sends the access token of the superuser "bench" (made if missing)."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework_simplejwt.tokens import RefreshToken

    users = get_user_model().objects
    user = users.filter(username="bench").first() or users.create_superuser("bench", "bench@example.com", "bench-0123456")
    return Client(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")


def _request(client, method: str, path: str, body: str | None = None):
    """Send one request; return (response, seconds, SQL queries)."""
    with counting_queries() as counted:
        began = time.perf_counter()
        if method == "GET":
            response = client.get(path)
        else:
            response = client.generic(method, path, body, content_type="application/json")
        return response, time.perf_counter() - began, counted["queries"]


def timed_get(client, path: str, repeats: int) -> dict:
    """GET `path` `repeats` times; return its status, bytes, median time, queries and page."""
    seconds = []
    for _ in range(repeats):
        response, took, queries = _request(client, "GET", API + path)
        assert response.status_code == 200, (path, response.status_code, response.content[:500])
        seconds.append(took)
    page = json.loads(response.content)
    # the rows nested in the page's objects: an order's lines, an outcome's shortfalls
    nested = sum(len(row.get("lines", row.get("shortfalls", ()))) for row in page["results"])
    return {"path": path, "status": response.status_code, "bytes": len(response.content),
            "median_s": round(statistics.median(seconds), 4), "max_s": round(max(seconds), 4), "queries": queries,
            "count": page["count"], "shown": len(page["results"]), "nested": nested}


def timed_post_order(client, number: str, item_codes: list[str], lines: int) -> dict:
    """POST an order of `lines` lines over existing items; return its status, time, queries, sizes and lines stored."""
    from orders.models import OrderLine

    rows = [{"item_code": item_codes[n % len(item_codes)], "quantity": 1 + n % 7} for n in range(lines)]
    body = json.dumps({"order_number": number, "lines": rows}, separators=(",", ":"))  # compact: bodies are capped
    response, took, queries = _request(client, "POST", API + "orders/", body)
    figures = {"lines": lines, "status": response.status_code, "seconds": round(took, 3), "queries": queries,
               "request_bytes": len(body), "bytes": len(response.content),
               "lines_stored": OrderLine.objects.filter(order__order_number=number).count()}
    if response.status_code >= 400:
        figures["error"] = response.content[:300].decode(errors="replace")
    return figures


def item_codes_warmed_up(client) -> list[str]:
    """Return the items' codes, after a one-line order posted untimed (the first POST of a process is slower)."""
    from stock.models import Item

    codes = list(Item.objects.order_by("id").values_list("item_code", flat=True))
    assert timed_post_order(client, f"WARM-UP-{os.getpid()}", codes, 1)["status"] == 201
    return codes


# --- the stages ---------------------------------------------------------------------------------

def measure_run_answers(client, repeats: int, *, analyze: bool) -> dict:
    """Run FIFO over every open order once, then time the answers about that run.

    With `analyze` the planner's statistics are refreshed first (ANALYZE), as autovacuum will do some time
    after a big run on PostgreSQL; without, the answers are timed as a client sees them right after the run.
    """
    from django.db import connection

    from allocation.services import allocation_run

    with counting_queries() as counted:
        began = time.perf_counter()
        done = allocation_run(method="FIFO")
        wall = time.perf_counter() - began
    run_id = done.run.pk
    figures = {"run": {"orders": done.run.orders_considered, "results": len(done.picks),
                       "shortfalls": sum(row[6] for row in done.outcome_rows), "wall_s": round(wall, 2),
                       "queries": counted["queries"]}}
    del done  # 200,000 outcome rows: not kept while the API is measured
    if analyze:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    pages = {
        "runs": "allocation-runs/?page_size=1000",
        "outcomes": f"allocation-runs/{run_id}/outcomes/?page_size=1000",
        "outcomes_short": f"allocation-runs/{run_id}/outcomes/?page_size=1000&short=true",
        "results": f"allocation-results/?run={run_id}&page_size=1000",
    }
    figures |= {name: timed_get(client, path, repeats) for name, path in pages.items()}
    return figures


def measure_big_orders_page(client, repeats: int, orders: int, lines: int) -> dict:
    """Add `orders` orders of `lines` lines (the newest), then time the first page of orders."""
    from orders.services import order_create
    from stock.models import Item

    items = list(Item.objects.order_by("id")[:lines])
    began = time.perf_counter()
    for n in range(orders):
        order_create(order_number=f"MANY{n:04d}",
                     lines=[{"item": items[k % len(items)], "quantity": 1 + k % 7} for k in range(lines)])
    created = time.perf_counter() - began
    return {"created": {"orders": orders, "lines_each": lines, "seconds": round(created, 2)},
            "orders_page": timed_get(client, "orders/?page_size=1000", repeats)}


def measure_big_post(client, lines: int) -> dict:
    """POST an order of `lines` lines under the default limit, then with the limit raised at run time."""
    from django.conf import settings
    from django.test import override_settings

    codes = item_codes_warmed_up(client)
    limit = settings.ORDER_MAX_LINES
    figures = {"default_limit": limit, "refused": timed_post_order(client, "BIG-REFUSED", codes, lines),
               "small": timed_post_order(client, "SMALL", codes, limit)}
    with override_settings(ORDER_MAX_LINES=lines):
        figures["override_settings"] = timed_post_order(client, "BIG-OVERRIDE", codes, lines)
    return figures


def stage_measure(args: argparse.Namespace) -> dict:
    client = _client()
    figures = measure_run_answers(client, args.repeats, analyze=args.analyze)
    figures |= measure_big_orders_page(client, args.repeats, args.many_orders, args.many_lines)
    figures["big_post"] = measure_big_post(client, args.big_lines)
    return figures


def stage_env_limit(args: argparse.Namespace) -> dict:
    """POST the big order in a process started with ORDER_MAX_LINES in its environment."""
    from django.conf import settings

    client = _client()
    codes = item_codes_warmed_up(client)
    return {"limit": settings.ORDER_MAX_LINES, "env": timed_post_order(client, "BIG-ENV", codes, args.big_lines)}


# --- the parent process ---------------------------------------------------------------------

def child(args: argparse.Namespace, url: str, stage: str, extra_env: dict | None = None) -> dict:
    """Run a stage in a fresh process; return the JSON object it prints last."""
    command = [sys.executable, __file__, "--url", url, "--stage", stage, "--lines", str(args.lines),
               "--repeats", str(args.repeats), "--many-orders", str(args.many_orders),
               "--many-lines", str(args.many_lines), "--big-lines", str(args.big_lines)] + ["--analyze"] * args.analyze
    env = {**os.environ, **CHILD_ENV, **(extra_env or {})}
    out = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    return json.loads(out.splitlines()[-1]) if out else {}


def report(figures: dict) -> None:
    """Print the figures as lines a person reads."""
    print(f"{figures['database']}: generated {figures['lines']} lines in {figures['generate_s']} s"
          f"{'; ANALYZE after the run' if figures['analyze'] else ''}")
    run = figures["run"]
    print(f"allocation_run FIFO: {run['orders']} orders, {run['results']} results, {run['shortfalls']} shortfalls "
          f"in {run['wall_s']} s, {run['queries']} queries")
    for name in ("runs", "outcomes", "outcomes_short", "results", "orders_page"):
        page = figures[name]
        target = ORDER_ANSWER_TARGET if name == "orders_page" else RUN_ANSWER_TARGET
        print(f"GET {page['path']:58} {page['bytes']:>11,} B  median {page['median_s']:.3f} s (max {page['max_s']:.3f})  "
              f"{page['queries']} queries  {page['shown']} of {page['count']} ({page['nested']} nested rows)"
              f"{_flags(page['bytes'], page['median_s'], *target)}")
    created = figures["created"]
    print(f"  (before orders/: {created['orders']} orders of {created['lines_each']} lines by order_create "
          f"in {created['seconds']} s)")
    posts = figures["big_post"]
    for name, label in (("refused", f"ORDER_MAX_LINES {posts['default_limit']} (default)"),
                        ("small", "the default limit's worth of lines"),
                        ("override_settings", "ORDER_MAX_LINES raised by override_settings")):
        _print_post(posts[name], label)
    _print_post(figures["env_limit"]["env"], f"ORDER_MAX_LINES={figures['env_limit']['limit']} in the environment")
    print(f"whole benchmark {figures['total_s']} s")


def _flags(size: int, seconds: float, most_bytes: int, most_seconds: float | None) -> str:
    over = [f"over {most_bytes // 1_000_000} MB"] * (size > most_bytes)
    if most_seconds is not None and seconds > most_seconds:
        over.append(f"over {most_seconds:g} s")
    return f"  ({', '.join(over)})" if over else ""


def _print_post(post: dict, label: str) -> None:
    print(f"POST orders/ {post['lines']:>6} lines, {label}: {post['status']} in {post['seconds']:.3f} s, "
          f"{post['queries']} queries, {post['lines_stored']} lines stored, body {post['request_bytes']:,} B, "
          f"answer {post['bytes']:,} B{_flags(post['bytes'], post['seconds'], *ORDER_ANSWER_TARGET)}")
    if "error" in post:
        print(f"    {post['error'][:200]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help='"sqlite" (a fresh file) or a PostgreSQL URL')
    parser.add_argument("--lines", type=int, default=500_000,
                        help="order lines generated (as bench/allocate.py: 500,000 lines in 200,000 orders)")
    parser.add_argument("--repeats", type=int, default=5, help="GETs per answer (the median is printed)")
    parser.add_argument("--many-orders", type=int, default=100)
    parser.add_argument("--many-lines", type=int, default=1000)
    parser.add_argument("--big-lines", type=int, default=50_000, help="lines of the one big order posted")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE after the run, before the answers are timed")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--stage", choices=["generate", "measure", "env-limit"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.stage == "generate":
        generate(args.url, items=1000, lots=20_000, lines=args.lines, seed=1)
        return 0
    if args.stage:
        _setup_django(args.url)
        print(json.dumps(stage_measure(args) if args.stage == "measure" else stage_env_limit(args)))
        return 0

    began = time.perf_counter()
    with scratch_database(args.db, "bench_answers") as url:
        child(args, url, "generate")
        generated = time.perf_counter() - began
        figures = {"database": "sqlite" if args.db == "sqlite" else "postgresql", "lines": args.lines,
                   "analyze": args.analyze, "generate_s": round(generated, 1)}
        figures |= child(args, url, "measure")
        figures["env_limit"] = child(args, url, "env-limit", {"ORDER_MAX_LINES": str(args.big_lines)})
    figures["total_s"] = round(time.perf_counter() - began, 1)
    report(figures)
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
