"""Webhook receivers for the delivery tests: real HTTP servers on 127.0.0.1 that check Standard Webhooks signatures.

A `Receiver` records every POST it gets (headers, body, whether the signature verified with its secret) and
answers as scripted: 200 by default, the status codes of `answers` first, 401 when the signature does not
verify; with `hang` it waits that long before answering (past the dispatcher's timeout). `stop()` takes it
down (the port then refuses connections) and `start()` brings it back on the same port. `Receivers` starts
and stops them for a test.
"""
from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.apps import apps
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from allocation.events import delivery_kick
from allocation.models import WebhookEndpoint
from allocation.webhooks import webhook_create


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # names in lower case
    body: bytes
    verified: bool

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> dict:
        return json.loads(self.body)


def verifies(received: Received, secret: str, body: bytes | None = None) -> bool:
    """Return whether `body` (by default the one received) verifies against the received headers with `secret`."""
    try:
        Webhook(secret).verify(received.body if body is None else body, received.headers)
    except WebhookVerificationError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver:
    """A webhook receiver on 127.0.0.1 (see the module's docstring)."""

    def __init__(self, answers: tuple[int, ...] = (), hang: float = 0.0, reply: bytes = b"thanks",
                 delay: float = 0.0) -> None:
        self.answers = list(answers)
        self.hang, self.reply, self.delay = hang, reply, delay
        self.secret: str | None = None
        self.received: list[Received] = []
        self.port = free_port()
        self._arrived = threading.Condition()
        self._released = threading.Event()  # ends a hang when the receiver stops
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        self._released.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def subscribe(self, events: list[str] | None = None) -> WebhookEndpoint:
        """Create an endpoint for this receiver through the service, and keep its secret to verify with."""
        endpoint = webhook_create(url=self.url, events=events or [])
        self.secret = endpoint.secret
        return endpoint

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait (at most `timeout` seconds) until `count` requests have arrived."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.received) >= count, timeout)

    def ids(self) -> Counter:
        """Return how many requests arrived per webhook-id."""
        return Counter(received.webhook_id for received in self.received)

    def take(self, headers: dict[str, str], body: bytes) -> int:
        """Record a request; return the status to answer."""
        received = Received(headers, body, bool(self.secret) and verifies(Received(headers, body, False), self.secret))
        with self._arrived:
            self.received.append(received)
            status = self.answers.pop(0) if self.answers else 200
            self._arrived.notify_all()
        if self.hang:
            self._released.wait(self.hang)
        elif self.delay:
            self._released.wait(self.delay)
        return status if received.verified else 401


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            status = receiver.take({name.lower(): value for name, value in self.headers.items()}, body)
            try:
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)
            except OSError:  # the dispatcher stopped waiting
                pass

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
            pass

    return Handler


class Receivers:
    """The receivers of one test: each started when made, all stopped at the end."""

    def __init__(self) -> None:
        self.made: list[Receiver] = []

    def __call__(self, **options) -> Receiver:
        receiver = Receiver(**options)
        self.made.append(receiver)
        return receiver.start()

    def down(self) -> Receiver:
        """Return a receiver that is not listening: its port refuses connections."""
        receiver = Receiver()
        self.made.append(receiver)
        return receiver

    def stop_all(self) -> None:
        for receiver in self.made:
            receiver.stop()


def plug_kick(settings, monkeypatch, **values) -> None:
    """Plug the delivery kick as the app does when it starts (`AllocationConfig.ready`), under these settings.

    `settings` and `monkeypatch` are pytest's fixtures: the test's end puts the settings and the kick back.
    """
    for name, value in values.items():
        setattr(settings, name, value)
    monkeypatch.setattr(delivery_kick, "send", delivery_kick.send)
    apps.get_app_config("allocation").ready()
