"""Jobs released together in threads of their own (each with its own database connection), for concurrency tests."""
from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def at_once(jobs: list[Callable[[], object]], what: str = "a job") -> list[BaseException]:
    """Run each job in a thread of its own, all released together; return the errors raised.

    A thread still running after 60 s fails the test ("<what> hung"): a deadlock is reported, not waited for.
    """
    start = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def work(job) -> None:
        try:
            start.wait()
            job()
        except BaseException as error:  # noqa: BLE001 (reported by the test)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), f"{what} hung (deadlock?)"
    return errors
