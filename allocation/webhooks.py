"""Services that write webhook endpoints and requeue their deliveries. Every door (admin, API) calls these.

An endpoint receives the events it subscribes to (none listed: every type), each signed with its secret by
the Standard Webhooks 1.0 scheme. The secret is made here (`whsec_` + 32 random bytes in base64) and shown
once, in the answer that creates or rotates it; after a rotation the previous secret signs too (a second
signature) for WEBHOOK_ROTATION_OVERLAP seconds, so receivers can switch without losing a delivery.

A URL must be http(s) and, unless WEBHOOK_ALLOW_PRIVATE, must not name a private, loopback or link-local
address (the dispatcher checks the address it resolves to again before each attempt).
"""
from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from allocation.events import delivery_kick
from allocation.models import Delivery, DeliveryStatus, EventType, WebhookEndpoint
from inventory_alloc.errors import Conflict, InvalidInput
from inventory_alloc.history import CHANGE, history_record
from inventory_alloc.records import Writes, record_apply, record_create, record_delete, record_lock, refuse_unknown

ENDPOINT_FIELDS = {"url", "events", "active", "description"}


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """Return the secrets that sign a delivery now: the current one, and the previous one until it expires."""
    keys = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        keys.append(endpoint.previous_secret)
    return keys


def event_types(value: object) -> list[str]:
    """Return the event types an endpoint subscribes to, checked, without repeats; [] means every type."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(kind, str) for kind in value):
        raise InvalidInput("A list of event types is expected.", field="events")
    if unknown := sorted(set(value) - set(EventType.values)):
        raise InvalidInput(f'"{unknown[0]}" is not an event type; the types are {", ".join(EventType.values)}.',
                           field="events", unknown=unknown)
    return sorted(set(value))


def private_address(host: str) -> str | None:
    """Return the private, loopback, link-local or reserved address `host` is or resolves to, if any."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return None  # not resolvable now: the attempt will fail and be retried
    for address in sorted(addresses):
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            return address
    return None


def check_url(url: object) -> str:
    """Return the URL if an endpoint may have it: http(s), a host, and (unless allowed) no private address."""
    text = str(url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("An endpoint URL must start with https:// (or http://) and name a host.", field="url")
    if not settings.WEBHOOK_ALLOW_PRIVATE and (address := private_address(parts.hostname)):
        raise InvalidInput(f"{parts.hostname} is a private address ({address}); webhooks are sent to public "
                           "addresses only (WEBHOOK_ALLOW_PRIVATE).", field="url")
    return text


def _clean(fields: dict) -> dict:
    if "url" in fields:
        fields["url"] = check_url(fields["url"])
    if "events" in fields:
        fields["events"] = event_types(fields["events"])
    return fields


def webhook_create(*, user=None, **fields: object) -> WebhookEndpoint:
    """Create an endpoint with a new secret (read it from the endpoint returned: it is shown only now)."""
    refuse_unknown(fields, ENDPOINT_FIELDS)
    fields = _clean(dict(fields))
    with transaction.atomic():
        endpoint = record_create(WebhookEndpoint, {**fields, "secret": new_secret()}, ENDPOINT_FIELDS | {"secret"})
        if getattr(user, "pk", None):
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(created_by=user)
            endpoint.created_by = user
        return endpoint


def webhook_update(*, endpoint: WebhookEndpoint, user=None, **changes: object) -> WebhookEndpoint:
    """Change an endpoint; turning a disabled one back on clears why it was disabled, and its failures."""
    refuse_unknown(changes, ENDPOINT_FIELDS)
    changes = _clean(dict(changes))
    with transaction.atomic():
        locked = record_lock(endpoint)
        if changes.get("active") and not locked.active:
            changes.update(disabled_reason="", failing_since=None)
        return record_apply(locked, changes)


def webhook_delete(*, endpoint: WebhookEndpoint, user=None, dry_run: bool = False) -> None:
    """Delete an endpoint with its deliveries and their attempts (the events stay)."""
    with transaction.atomic():
        locked = record_lock(endpoint)
        record_delete(locked, f"Endpoint {locked.url} cannot be deleted.", dry_run=dry_run)


def webhook_rotate(*, endpoint: WebhookEndpoint, user=None) -> WebhookEndpoint:
    """Give an endpoint a new secret; the old one keeps signing for WEBHOOK_ROTATION_OVERLAP seconds."""
    with transaction.atomic():
        locked = record_lock(endpoint)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = timezone.now() + timedelta(seconds=settings.WEBHOOK_ROTATION_OVERLAP)
        locked.secret = new_secret()
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        history_record(user, locked, CHANGE, message="Rotated the signing secret.")
        return locked


def deliveries_redeliver(*, deliveries: Iterable[Delivery | int], user=None) -> int:
    """Send deliveries again from the first attempt of the schedule (their attempts so far stay recorded).

    A delivery still pending is refused: it is on its way already.
    """
    ids = sorted({getattr(delivery, "pk", delivery) for delivery in deliveries})
    if not ids:
        raise InvalidInput("Say which deliveries to send again.", field="deliveries")
    with transaction.atomic():
        found = dict(Delivery.objects.select_for_update().filter(id__in=ids).values_list("id", "status"))
        if missing := sorted(set(ids) - set(found)):
            raise InvalidInput(f"No delivery with id {', '.join(map(str, missing[:20]))}.", field="deliveries")
        if pending := sorted(i for i, status in found.items() if status == DeliveryStatus.PENDING):
            raise Conflict(f"Delivery {', '.join(map(str, pending[:20]))} is still pending; it is sent already.",
                           deliveries=pending)
        return _requeue(Delivery.objects.filter(id__in=ids))


def deliveries_redeliver_failed(*, endpoint: WebhookEndpoint, user=None) -> int:
    """Send every failed delivery of an endpoint again; return how many."""
    with transaction.atomic():
        record_lock(endpoint)
        return _requeue(Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.FAILED))


def _requeue(deliveries) -> int:
    count = deliveries.update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), claim="")
    if count:
        delivery_kick.after_commit()
    return count


WEBHOOK_WRITES = Writes("endpoint", webhook_create, webhook_update, webhook_delete)
