"""Benchmark the REST API over real HTTP: a server process on loopback, a fresh SQLite database.

    python bench/api.py                      # seed_demo --size 2, 200 list requests, 100 single-order allocations
    python bench/api.py --size 5 --list-requests 500 --allocations 200 --json

Starts `manage.py runserver --noreload` (DEBUG off) on a free loopback port
against a new SQLite file seeded with `seed_demo --size N`, logs in for a JWT,
then measures, one request at a time from one client:

- `GET /api/v1/orders/?page_size=100` (orders with their lines);
- `POST /api/v1/allocate/` naming one open order (FIFO, written, not a dry run).

Prints requests/second and p50/p99 latency of each. With --json the last line
is one JSON object. The server process is always stopped, and the database removed.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            urllib.request.urlopen(base + "/api/v1/schema/", timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def summary(latencies: list[float], elapsed: float) -> dict:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(p99 * 1000, 1),
    }


def timed(calls) -> tuple[dict, list[int]]:
    latencies, statuses = [], []
    started = time.perf_counter()
    for call in calls:
        t0 = time.perf_counter()
        statuses.append(call())
        latencies.append(time.perf_counter() - t0)
    return summary(latencies, time.perf_counter() - started), statuses


def run(size: int, list_requests: int, allocations: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "inventory_alloc.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_SECURE": "0",  # runserver speaks plain HTTP on loopback
        "API_TOKEN_THROTTLE": "1000/min",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "seed_demo", "--size", str(size)], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*manage, "runserver", "--noreload", f"127.0.0.1:{port}"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(base, server)
        status, tokens = request(base, "POST", "/api/v1/token/", body={"username": "admin", "password": "admin"})
        if status != 200:
            raise RuntimeError(f"login failed: {status} {tokens}")
        token = tokens["access"]
        listing, statuses = timed(
            (lambda: request(base, "GET", "/api/v1/orders/?page_size=100", token)[0]) for _ in range(list_requests)
        )
        assert set(statuses) == {200}, statuses
        _, page = request(base, "GET", f"/api/v1/orders/?status=open&page_size={max(allocations, 1)}", token)
        order_ids = [order["id"] for order in page["results"]][:allocations]
        allocate, statuses = timed(
            (lambda order_id=order_id: request(base, "POST", "/api/v1/allocate/", token,
                                               {"method": "FIFO", "orders": [order_id]})[0])
            for order_id in order_ids
        )
        assert set(statuses) <= {201}, statuses
        _, orders = request(base, "GET", "/api/v1/orders/?page_size=1", token)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    return {
        "benchmark": "api", "database": "sqlite", "server": "manage.py runserver (1 process, threads), DEBUG off",
        "seed_size": size, "orders_in_database": orders["count"],
        "get_orders_page_100": listing, "post_allocate_one_order": allocate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2, help="seed_demo --size (1: about 300 orders)")
    parser.add_argument("--list-requests", type=int, default=200)
    parser.add_argument("--allocations", type=int, default=100, help="single-order POST allocate/ requests")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args()
    result = run(args.size, args.list_requests, args.allocations)
    for name in ("get_orders_page_100", "post_allocate_one_order"):
        figures = result[name]
        print(f"{name:26} {figures['requests']:5} requests  {figures['requests_per_second']:8.1f} req/s  "
              f"p50 {figures['p50_ms']:7.1f} ms  p99 {figures['p99_ms']:7.1f} ms")
    print(f"({result['orders_in_database']} orders in the database, seed_demo --size {result['seed_size']})")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
