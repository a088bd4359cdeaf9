"""Time the admin's "Allocate selected orders" action on 10,000 orders selected with "select all".

    python bench/admin_action.py                                  # SQLite (a fresh file)
    python bench/admin_action.py --db postgres://postgres@127.0.0.1:5432/postgres

Generates 10,000 open orders (25,000 lines over 500 items and 5,000 lots, as
bench/allocate.py does), logs a superuser into the admin with Django's test
client and posts, as a browser would with "select all 10,000": the action
(its page), a Preview (a dry run) and Allocate. Prints the wall time and SQL
queries of each request. API Gateway gives a request 30 seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.allocate import _setup_django, counting_queries, generate, scratch_database  # noqa: E402

PARAMETERS = {"method": "FIFO", "policy": "order_date", "as_of": "2026-08-01", "allow_partial": "on", "allow_inbound": "on"}
CHANGELIST = "/admin/orders/order/"
FILTER = "?status__exact=open"


def timed_post(client, url: str, data: dict) -> tuple[object, float, int]:
    with counting_queries() as counted:
        began = time.perf_counter()
        response = client.post(url, data)
        return response, time.perf_counter() - began, counted["queries"]


def run() -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from allocation.models import AllocationRun
    from orders.models import Order

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    first_page = list(Order.objects.order_by("-order_date", "-id").values_list("id", flat=True)[:100])
    selection = {"_selected_action": first_page, "select_across": "1"}
    figures = {"orders": Order.objects.count()}

    page, seconds, queries = timed_post(client, CHANGELIST + FILTER, {"action": "allocate_orders", "index": 0, **selection})
    assert page.status_code == 200 and b"allocate-form" in page.content, page.status_code
    figures["action_page"] = {"seconds": round(seconds, 2), "queries": queries}

    preview, seconds, queries = timed_post(client, "/admin/orders/order/allocate/" + FILTER,
                                           {**PARAMETERS, "preview": "1", **selection})
    assert preview.status_code == 200 and b'id="preview"' in preview.content, preview.status_code
    figures["preview"] = {"seconds": round(seconds, 2), "queries": queries, "html_kb": len(preview.content) // 1024}

    done, seconds, queries = timed_post(client, "/admin/orders/order/allocate/" + FILTER,
                                        {**PARAMETERS, "allocate": "1", **selection})
    assert done.status_code == 302, done.status_code
    run = AllocationRun.objects.get()
    figures["allocate"] = {"seconds": round(seconds, 2), "queries": queries, "status": run.status,
                           "orders_considered": run.orders_considered, "fully": run.orders_fully_allocated,
                           "partly": run.orders_partly_allocated, "not": run.orders_not_allocated,
                           "results": run.results.count()}
    changelist = client.get(done["Location"]).content.decode()
    message = re.findall(r'<li class="(?:success|error)[^"]*">(.*?)</li>', changelist, re.S)[0]
    figures["message"] = " ".join(re.sub(r"<[^>]+>", " ", message).split())
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help='"sqlite" (a fresh file) or a PostgreSQL URL')
    parser.add_argument("--stage", choices=["generate", "run"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "generate":
        generate(args.url, items=500, lots=5000, lines=25000, seed=1)
        return 0
    if args.stage == "run":
        _setup_django(args.url)
        print(json.dumps(run()))
        return 0
    # Production settings (DEBUG off) over plain HTTP on the test client: no HTTPS redirect.
    env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_SECURE": "0", "DJANGO_LOG_LEVEL": "ERROR",
           "PYTHONWARNINGS": "ignore:No directory at:UserWarning"}
    with scratch_database(args.db, "bench_admin") as url:
        subprocess.run([sys.executable, __file__, "--url", url, "--stage", "generate"], check=True, env=env)
        out = subprocess.run([sys.executable, __file__, "--url", url, "--stage", "run"], check=True, env=env,
                             capture_output=True, text=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
