"""Who did what: every write through the services is entered in Django's admin log (`LogEntry`).

The log is what the admin shows on an object's History page and in Recent actions, so a change made
through the API, an import, a command or a Lambda task shows there as one made on the change form
does. Services write the entries (never the doors), so every door keeps the same history:

- items, lots, customers, payments, orders and their lines: created, changed (which fields), deleted
  (`inventory_alloc.records.Writes` enters them around the services);
- runs (one entry per run, not per result), releases, cancels and shipments (one per order), period
  closes and webhook endpoints: entered by their services with a message in words.

A change made without a user (a command, the nightly run) is entered under the inactive user "system".
"""
from __future__ import annotations

import json
from collections.abc import Iterable

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.utils import timezone, translation

from inventory_alloc.statements import rows_per_statement

__all__ = ["ADDITION", "CHANGE", "DELETION", "history_record", "history_record_many", "system_user_id"]

SYSTEM_USERNAME = "system"


def system_user_id() -> int:
    """Return the id of the inactive user that changes made without a user are entered under."""
    user, _created = get_user_model()._default_manager.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "password": make_password(None)})  # cannot log in
    return user.pk


def _user_id(user) -> int:
    """Return the id of `user` (a user, or a user's id), or of the system user for none."""
    if isinstance(user, int):
        return user
    return user.pk if getattr(user, "is_authenticated", False) and user.pk else system_user_id()


def field_labels(model: type[models.Model], names: Iterable[str]) -> list[str]:
    """Return the fields' names as the admin writes them in a change message (translated when shown)."""
    labels = []
    with translation.override(None):
        for name in names:
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                labels.append(name)
                continue
            label = getattr(field, "verbose_name", None) or field.related_model._meta.verbose_name_plural  # "lines"
            labels.append(str(label))
    return labels


def history_record(user, instance: models.Model, action: int, *, fields: Iterable[str] = (), message: str = "",
                   object_id: object = None, text: str | None = None) -> None:
    """Enter one change of `instance` in the admin log: `fields` changed (the admin's own message format), or
    `message` in words. A deleted instance gives its former `object_id` and `text`."""
    if fields:
        message_text = json.dumps([{"changed": {"fields": field_labels(type(instance), fields)}}])
    elif action == ADDITION and not message:
        message_text = json.dumps([{"added": {}}])
    else:
        message_text = message
    LogEntry.objects.create(
        user_id=_user_id(user), content_type=ContentType.objects.get_for_model(instance, for_concrete_model=False),
        object_id=str(instance.pk if object_id is None else object_id),
        object_repr=(str(instance) if text is None else text)[:200], action_flag=action, change_message=message_text)


def history_record_many(user, model: type[models.Model], objects: Iterable[tuple[int, str, str]],
                        action: int = CHANGE) -> None:
    """Enter a change of many objects of `model` at once: (id, repr, message) each, in multi-row INSERTs as
    long as the database takes (a bulk cancel of thousands of orders is a statement or two, not one per 142)."""
    stamp = timezone.now()
    if connection.vendor == "sqlite":
        stamp = connection.ops.adapt_datetimefield_value(stamp)
    shared = (stamp, _user_id(user), ContentType.objects.get_for_model(model, for_concrete_model=False).pk)
    rows = [(*shared, str(pk), text[:200], action, message) for pk, text, message in objects]
    per_statement = rows_per_statement(len(LOG_COLUMNS))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            values = ", ".join(["(" + ", ".join(["%s"] * len(LOG_COLUMNS)) + ")"] * len(chunk))
            cursor.execute(f"INSERT INTO {connection.ops.quote_name(LogEntry._meta.db_table)} "
                           f"({', '.join(LOG_COLUMNS)}) VALUES {values}", [value for row in chunk for value in row])


LOG_COLUMNS = ("action_time", "user_id", "content_type_id", "object_id", "object_repr", "action_flag", "change_message")
