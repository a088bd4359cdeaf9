"""Send the webhook deliveries that are due, signed by the Standard Webhooks 1.0 scheme, and record every attempt.

A pass claims due deliveries of active endpoints in small batches, oldest event first: a short transaction
stamps them with a token and moves their `next_attempt_at` to the end of a lease, so no other dispatcher
(a Lambda invocation, the local worker, a kick) takes them meanwhile. The POSTs happen outside any
transaction; each attempt is then recorded in one short transaction. A 2xx answer succeeds; anything else (a
status, a redirect, a timeout, a refused address) is retried WEBHOOK_RETRY_SCHEDULE[n-1] seconds after the
n-th attempt, and fails the delivery once the schedule is spent. An endpoint whose every attempt has failed
for WEBHOOK_DISABLE_AFTER seconds is disabled; its pending deliveries wait until it is turned back on.

At least once: the claims of a dispatcher that dies expire and are sent again. Receivers dedupe by
`webhook-id` (the event's public id, the same on every attempt and endpoint) and order by `sequence`.
"""
from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from allocation.event_data import fill_data
from allocation.events import json_text
from allocation.models import Delivery, DeliveryAttempt, DeliveryStatus, Event, WebhookEndpoint
from allocation.webhooks import private_address, signing_secrets

logger = logging.getLogger(__name__)

USER_AGENT = "inventory-alloc-webhooks/1.0 (Standard Webhooks)"
BATCH = 10  # deliveries per claim: a dispatcher that dies strands few, for one lease
BODY_CHARS = 1000  # of an answer's body kept on its attempt


@dataclass
class PassReport:
    """What one pass did: the attempts it sent and how they ended, endpoints it disabled, claims it handed back."""

    sent: int = 0
    succeeded: int = 0
    retried: int = 0  # failed, with another attempt scheduled
    failed: int = 0  # failed, with the schedule spent
    disabled: list[int] = field(default_factory=list)
    returned: int = 0  # claimed but not sent: the pass ran out of time, or their endpoint had failed in it
    seconds: float = 0.0

    def __str__(self) -> str:
        if not self.sent and not self.returned:
            return "Nothing was due."
        text = f"Sent {self.sent}: {self.succeeded} succeeded, {self.retried} to retry, {self.failed} failed"
        if self.disabled:
            text += f"; disabled endpoint {', '.join(map(str, self.disabled))}"
        if self.returned:
            text += f"; {self.returned} left for the next pass"
        return f"{text} ({self.seconds:.2f} s)."


@dataclass(frozen=True)
class Attempt:
    """How one POST went: when it started, the status and first characters of the answer, or why it failed."""

    at: datetime
    status: int | None = None
    body: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Claim:
    """Deliveries one dispatcher holds: its token, and the monotonic time its lease ends."""
    token: str
    deliveries: list[Delivery]
    until: float


@dataclass
class _Pass:
    session: requests.Session
    clock: Callable[[], datetime]
    deadline: float  # time.monotonic() after which the pass starts no attempt
    report: PassReport = field(default_factory=PassReport)
    skipped: set[int] = field(default_factory=set)  # endpoints that failed in this pass: not tried again in it

    def count(self, endpoint_id: int, attempt: Attempt, status: str | None, disabled: bool) -> None:
        self.report.sent += 1
        if attempt.succeeded:
            self.report.succeeded += 1
        else:
            self.skipped.add(endpoint_id)
            self.report.retried += status == DeliveryStatus.PENDING
            self.report.failed += status == DeliveryStatus.FAILED
        if disabled:
            self.report.disabled.append(endpoint_id)


# --- what is sent (pure) ---------------------------------------------------------------------------

def message(event: Event) -> str:
    """Return the body of an event's deliveries, its data inserted verbatim: every attempt sends the same bytes."""
    stamp = event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return f'{{"type":{json_text(event.type)},"timestamp":"{stamp}","data":{event.data}}}'


def signed_headers(webhook_id: str, at: datetime, body: str, keys: Sequence[str]) -> dict[str, str]:
    """Return the headers of one attempt: the message id, the attempt's unix time, one signature per key."""
    stamp = datetime.fromtimestamp(int(at.timestamp()), tz=UTC)  # the library reads a naive-or-UTC datetime
    return {
        "content-type": "application/json", "user-agent": USER_AGENT, "webhook-id": webhook_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": " ".join(Webhook(key).sign(webhook_id, stamp, body) for key in keys),
    }


def next_state(attempts: int, attempt: Attempt, schedule: Sequence[float]) -> tuple[str, datetime | None]:
    """Return a delivery's status and next attempt once its `attempts`-th attempt went as `attempt` did."""
    if attempt.succeeded:
        return DeliveryStatus.SUCCEEDED, None
    if attempts <= len(schedule):
        return DeliveryStatus.PENDING, attempt.at + timedelta(seconds=schedule[attempts - 1])
    return DeliveryStatus.FAILED, None


def lease_seconds(count: int) -> float:
    """Return how long a claim of `count` deliveries is held: room for each attempt to take its timeouts, and more."""
    return 60 + count * 3 * settings.WEBHOOK_TIMEOUT


# --- a pass ----------------------------------------------------------------------------------------

def deliver_pass(*, limit: int = 100, seconds: float | None = None, now: datetime | None = None) -> PassReport:
    """Send up to `limit` due deliveries, batch by batch, until none is due or `seconds` have passed.

    `seconds` defaults to WEBHOOK_PASS_SECONDS; an attempt started just before then may outlast it by
    its timeouts. `now` fixes the pass's clock (tests); by default each claim and attempt reads the time.
    Call it outside a transaction: it commits each claim and each attempt as it goes.
    """
    clock = (lambda: now) if now is not None else timezone.now
    started = time.monotonic()
    budget = settings.WEBHOOK_PASS_SECONDS if seconds is None else seconds
    claimed = 0
    with requests.Session() as session:
        run = _Pass(session, clock, started + budget)
        while claimed < limit and time.monotonic() < run.deadline:
            claim = deliveries_claim(count=min(BATCH, limit - claimed), now=clock(), skip=run.skipped)
            if not claim.deliveries:
                break
            claimed += len(claim.deliveries)
            _send_claimed(claim, run)
    run.report.seconds = round(time.monotonic() - started, 3)
    return run.report


def _send_claimed(claim: Claim, run: _Pass) -> None:
    """Send a claim's deliveries in turn; hand back unsent those the pass has no time or no reason to try."""
    done: set[int] = set()
    try:
        for delivery in claim.deliveries:
            moment = time.monotonic()
            if delivery.endpoint_id in run.skipped or moment >= run.deadline \
                    or moment + 3 * settings.WEBHOOK_TIMEOUT >= claim.until:  # not sure to end within the lease
                continue
            attempt = attempt_send(delivery, run.session, run.clock())
            status, disabled = attempt_record(delivery=delivery, token=claim.token, attempt=attempt)
            done.add(delivery.pk)
            run.count(delivery.endpoint_id, attempt, status, disabled)
    finally:  # also on Ctrl-C or an error: what was not recorded goes back at once, not when the lease ends
        back = [delivery.pk for delivery in claim.deliveries if delivery.pk not in done]
        if back:
            Delivery.objects.filter(id__in=back, claim=claim.token).update(claim="", next_attempt_at=run.clock())
            run.report.returned += len(back)


def deliveries_claim(*, count: int, now: datetime, skip: Collection[int] = ()) -> Claim:
    """Take up to `count` due deliveries of active endpoints (none of `skip`), oldest event first.

    PostgreSQL locks the rows with SKIP LOCKED, so two dispatchers take different ones; SQLite serialises
    writers; and the UPDATE matches only rows still due: a row is never claimed twice.
    """
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__active=True)
    if skip:
        due = due.exclude(endpoint_id__in=skip)
    due = due.order_by("event_id", "id")
    if not due.exists():  # idle passes take no write lock (SQLite has one writer)
        return Claim("", [], 0.0)
    token, lease = secrets.token_hex(16), lease_seconds(count)
    until = time.monotonic() + lease
    with transaction.atomic():
        ids = list(due.select_for_update(skip_locked=True, of=("self",)).values_list("id", flat=True)[:count])
        Delivery.objects.filter(id__in=ids, status=DeliveryStatus.PENDING, next_attempt_at__lte=now).update(
            claim=token, next_attempt_at=now + timedelta(seconds=lease))
    held = list(Delivery.objects.filter(id__in=ids, claim=token).select_related("endpoint", "event").order_by(
        "event_id", "id"))
    fill_data([delivery.event for delivery in held])
    return Claim(token, held, until)


# --- one attempt -----------------------------------------------------------------------------------

def attempt_send(delivery: Delivery, session: requests.Session, at: datetime) -> Attempt:
    """POST a delivery's event to its endpoint once: no redirect followed, no more than BODY_CHARS of the answer read."""
    endpoint, event = delivery.endpoint, delivery.event
    if refused := _refused(endpoint.url):
        return Attempt(at, error=refused)
    body = message(event)
    headers = signed_headers(event.public_id, at, body, signing_secrets(endpoint, at))
    started = time.monotonic()
    timeout = settings.WEBHOOK_TIMEOUT
    try:
        with session.post(endpoint.url, data=body.encode(), headers=headers, timeout=(timeout, timeout),
                          allow_redirects=False, stream=True) as response:
            status, text, where = response.status_code, _first_chars(response), response.headers.get("location", "")
    except (requests.RequestException, ValueError) as error:  # ValueError: a URL urllib3 cannot parse
        return Attempt(at, error=_why(error), duration_ms=int((time.monotonic() - started) * 1000))
    return Attempt(at, status, text, _status_error(status, where), int((time.monotonic() - started) * 1000))


def _refused(url: str) -> str:
    """Return why `url` may not be sent to (its host is or resolves to a private address), or ""."""
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return ""
    host = urlsplit(url).hostname or ""
    if address := private_address(host):
        return (f"Refused before connecting: {host} resolves to the private address {address}; webhooks go to "
                "public addresses only (WEBHOOK_ALLOW_PRIVATE).")
    return ""


def _first_chars(response: requests.Response) -> str:
    data = b""
    for chunk in response.iter_content(chunk_size=BODY_CHARS):
        data += chunk
        if len(data) >= BODY_CHARS:
            break
    # PostgreSQL text holds no NUL character.
    return data[:BODY_CHARS].decode("utf-8", errors="replace").replace("\x00", "")[:BODY_CHARS]


def _status_error(status: int, location: str) -> str:
    if 200 <= status < 300:
        return ""
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed (Location: {location[:300]})."
    return f"HTTP {status}."


def _why(error: Exception) -> str:
    if isinstance(error, requests.Timeout):
        return f"No answer within {settings.WEBHOOK_TIMEOUT:g} s (WEBHOOK_TIMEOUT): {error}"[:2000]
    return f"{type(error).__name__}: {error}"[:2000]


# --- recording -------------------------------------------------------------------------------------

def attempt_record(*, delivery: Delivery, token: str, attempt: Attempt) -> tuple[str | None, bool]:
    """Record an attempt of a claimed delivery, schedule its next one or end it, and note its endpoint's health.

    Return the delivery's new status (None if it was not ours any more) and whether the endpoint was disabled.
    """
    attempts = delivery.attempts + 1
    status, next_at = next_state(attempts, attempt, settings.WEBHOOK_RETRY_SCHEDULE)
    with transaction.atomic():
        ours = Delivery.objects.filter(pk=delivery.pk, claim=token).update(
            status=status, attempts=attempts, next_attempt_at=next_at, claim="", last_attempt_at=attempt.at,
            last_response_status=attempt.status, last_error=attempt.error)
        if not ours and not Delivery.objects.filter(pk=delivery.pk).exists():
            return None, False  # deleted with its endpoint meanwhile
        if not ours:  # its lease ran out and another dispatcher took it: keep the attempt, leave the state to it
            logger.warning("Delivery %s was claimed by another dispatcher before its attempt was recorded", delivery.pk)
        DeliveryAttempt.objects.create(
            delivery_id=delivery.pk, attempted_at=attempt.at, succeeded=attempt.succeeded,
            response_status=attempt.status, response_body=attempt.body, error=attempt.error,
            duration_ms=attempt.duration_ms)
        disabled = _endpoint_health(endpoint_id=delivery.endpoint_id, attempt=attempt)
    return (status if ours else None), disabled


def _endpoint_health(*, endpoint_id: int, attempt: Attempt) -> bool:
    """Clear an endpoint's `failing_since` on a success; on a failure start it, and disable the endpoint once it
    is WEBHOOK_DISABLE_AFTER old. Return whether this attempt disabled it."""
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint_id)
    if attempt.succeeded:
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return False
    endpoints.filter(failing_since__isnull=True).update(failing_since=attempt.at)
    since = endpoints.values_list("failing_since", flat=True).first()
    if since is None or attempt.at - since < timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER):
        return False
    reason = (f"Disabled at {attempt.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC: failed every attempt since "
              f"{since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC (WEBHOOK_DISABLE_AFTER). Last error: {attempt.error}")
    return bool(endpoints.filter(active=True).update(active=False, disabled_reason=reason, updated_at=timezone.now()))
