"""Run a command (the test suite) against a real PostgreSQL server, in a database of its own.

Which server: $TEST_DATABASE_URL if set; else the local server on 127.0.0.1:5432
if it answers; else a throwaway cluster started here in a temporary directory
(as the `postgres` user when run as root) and stopped afterwards. Set
TEST_POSTGRES=throwaway to always use a throwaway cluster.

With CI=true a PostgreSQL that cannot be had is a failure; otherwise the
command is skipped with a message.

    python tests/with_postgres.py python -m pytest
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2


def _answers(url: str) -> bool:
    try:
        psycopg2.connect(url, connect_timeout=3).close()
        return True
    except psycopg2.Error:
        return False


def _bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL (apt-get install postgresql)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayCluster:
    """A PostgreSQL cluster in a temporary directory, on a free loopback port."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="ia-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    def start(self) -> str:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_bin("pg_ctl"), "-D", self.data, "-o", options, "-l", os.path.join(self.dir, "log"), "-w", "start")
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run(_bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _with_database(url: str) -> str:
    """Return `url` pointing at a database name of this run's own."""
    parts = urlsplit(url)
    name = f"inventory_alloc_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    cluster = None
    url = os.environ.get("TEST_DATABASE_URL", "")
    local = "postgres://postgres@127.0.0.1:5432/postgres"
    if not url and os.environ.get("TEST_POSTGRES") != "throwaway" and _answers(local):
        url = local
    if not url:
        try:
            cluster = ThrowawayCluster()
            url = cluster.start()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
            message = f"PostgreSQL is not available: {error}"
            if ci:
                print(f"FAILED: {message}", file=sys.stderr)
                return 1
            print(f"SKIPPED the PostgreSQL pass: {message}", file=sys.stderr)
            return 0
    server = urlsplit(url).netloc.split("@")[-1]
    print(f"== PostgreSQL pass on {server}" + (" (throwaway cluster)" if cluster else ""), flush=True)
    env = dict(os.environ, DATABASE_URL=_with_database(url))
    try:
        return subprocess.call(argv, env=env)
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
