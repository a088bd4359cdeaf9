"""python manage.py deliver_events [--loop [--interval 1]] [--seconds N] [--limit 100]"""
from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Iterator

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from allocation.delivery import PassReport, deliver_pass

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = ("Send the webhook deliveries that are due: one pass, or with --loop a local worker that passes again "
            "every --interval seconds until Ctrl-C (or until --seconds have gone by).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep going: a pass, a pause, another pass")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between passes (default 1)")
        parser.add_argument("--seconds", type=float, help="stop after this many seconds (default: a pass's own "
                                                          "limit, WEBHOOK_PASS_SECONDS; with --loop: never)")
        parser.add_argument("--limit", type=int, default=100, help="deliveries per pass at most (default 100)")

    def handle(self, *args, loop=False, interval=1.0, seconds=None, limit=100, **options) -> None:
        stop_at = None if seconds is None else time.monotonic() + seconds
        try:
            with _stopped_by_sigterm():
                if loop:
                    self._loop(interval, stop_at, limit)
                else:
                    self.stdout.write(str(deliver_pass(limit=limit, seconds=seconds)))
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")

    def _loop(self, interval: float, stop_at: float | None, limit: int) -> None:
        """Pass, print a line if the pass did something, pause (unless it stopped at its limit), again."""
        while stop_at is None or time.monotonic() < stop_at:
            left = None if stop_at is None else stop_at - time.monotonic()
            report = self._pass(limit, left)
            if report is not None and (report.sent or report.returned):
                self.stdout.write(str(report))
            if report is None or report.sent + report.returned < limit:
                time.sleep(interval if left is None else max(0.0, min(interval, stop_at - time.monotonic())))

    def _pass(self, limit: int, seconds: float | None) -> PassReport | None:
        try:
            return deliver_pass(limit=limit, seconds=seconds)
        except DatabaseError as error:  # the database restarted, or was locked too long: try again next time
            self.stderr.write(f"The pass failed: {error}")
            logger.exception("A dispatcher pass failed")
            close_old_connections()
            return None


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """Treat SIGTERM (`make run` stopping the worker) as Ctrl-C, so a pass hands its claims back before it exits."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
