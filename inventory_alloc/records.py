"""Plumbing shared by the services of every app: validate, lock, save and delete one record.

The services (`stock.services`, `orders.services`) hold the rules; these
helpers only make every write the same: `full_clean` before saving (a
ValidationError names the field), the row locked before it changes, and a
delete that other rows protect turned into a Conflict that says why.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.db.models import ProtectedError, RestrictedError

from inventory_alloc.errors import Conflict
from inventory_alloc.history import ADDITION, CHANGE, DELETION, history_record


@dataclass(frozen=True)
class Writes:
    """The services that write one model, as the doors (admin, API, import) call them.

    `create(user=, **fields)`, `update(<key>=instance, user=, **changes)`,
    `delete(<key>=instance, user=, dry_run=)`; `key` is the keyword naming the instance. Each write that
    happens is entered in the history (`inventory_alloc.history`), whichever door called it: the fields it
    changed, and each of `related` (a change that is no column, e.g. an order's `lines`) whose snapshot
    (`related[name](instance)`) differs after the write.
    """

    key: str
    create: Callable[..., models.Model]
    update: Callable[..., models.Model]
    delete: Callable[..., None]
    related: Mapping[str, Callable[[models.Model], object]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "create", _recorded_create(self.create))
        object.__setattr__(self, "update", _recorded_update(self.update, self.key, self.related))
        object.__setattr__(self, "delete", _recorded_delete(self.delete, self.key))

    def create_with(self, fields: dict, user=None) -> models.Model:
        return self.create(user=user, **fields)

    def update_with(self, instance: models.Model, changes: dict, user=None) -> models.Model:
        return self.update(**{self.key: instance}, user=user, **changes)

    def delete_with(self, instance: models.Model, user=None, *, dry_run: bool = False) -> None:
        self.delete(**{self.key: instance}, user=user, dry_run=dry_run)


def _recorded_create(create: Callable[..., models.Model]) -> Callable[..., models.Model]:
    @functools.wraps(create)
    def recorded(*, user=None, **fields):
        with transaction.atomic():
            saved = create(user=user, **fields)
            history_record(user, saved, ADDITION)
        return saved
    return recorded


def _recorded_update(update: Callable[..., models.Model], key: str,
                     related: Mapping[str, Callable[[models.Model], object]]) -> Callable[..., models.Model]:
    @functools.wraps(update)
    def recorded(*, user=None, **kwargs):
        instance = kwargs[key]
        model = type(instance)
        # What the row holds before (a door may have set the new values on `instance` already, as a form does).
        names = [name for name in kwargs if name != key and name not in related]
        attnames = {name: model._meta.get_field(name).attname for name in names if _is_column(model, name)}
        with transaction.atomic():
            before = model._default_manager.filter(pk=instance.pk).values(*attnames.values()).first() or {}
            snapshots = {name: snapshot(instance) for name, snapshot in related.items() if name in kwargs}
            saved = update(user=user, **kwargs)
            changed = [name for name, attname in attnames.items() if getattr(saved, attname, None) != before.get(attname)]
            changed += [name for name, snapshot in snapshots.items() if related[name](saved) != snapshot]
            if changed:
                history_record(user, saved, CHANGE, fields=changed)
        return saved
    return recorded


def _is_column(model: type[models.Model], name: str) -> bool:
    try:
        return model._meta.get_field(name).concrete
    except FieldDoesNotExist:
        return False


def _recorded_delete(delete: Callable[..., None], key: str) -> Callable[..., None]:
    @functools.wraps(delete)
    def recorded(*, user=None, dry_run: bool = False, **kwargs):
        instance = kwargs[key]
        object_id, text = instance.pk, str(instance)
        with transaction.atomic():
            delete(user=user, dry_run=dry_run, **kwargs)
            if not dry_run:
                history_record(user, instance, DELETION, object_id=object_id, text=text)
    return recorded


def refuse_unknown(changes: Iterable[str], allowed: set[str]) -> None:
    """Raise ValueError for fields a service does not write (a caller's mistake, not the user's)."""
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")


def record_create(model: type[models.Model], fields: dict, allowed: set[str]) -> models.Model:
    """Validate (full_clean: ValidationError names the field) and insert a new row."""
    refuse_unknown(fields, allowed)
    instance = model(**fields)
    instance.full_clean()
    instance.save(force_insert=True)
    return instance


def record_lock(instance: models.Model) -> models.Model:
    """Return the row of `instance` read again and locked for this transaction."""
    return type(instance)._default_manager.select_for_update().get(pk=instance.pk)


def record_apply(locked: models.Model, changes: dict) -> models.Model:
    """Set `changes` on a locked row, validate it and save it; a row they do not change is not saved.

    (So sending an object back unchanged leaves it as it was, `updated_at` included.)
    """
    before = {field.attname: getattr(locked, field.attname) for field in locked._meta.concrete_fields}
    for name, value in changes.items():
        setattr(locked, name, value)
    if all(getattr(locked, attname) == value for attname, value in before.items()):
        return locked
    locked.full_clean()
    locked.save()
    return locked


def record_delete(locked: models.Model, refused: str, *, dry_run: bool) -> None:
    """Delete a locked row; other rows that protect it make a Conflict with the message `refused`."""
    if dry_run:
        return
    try:
        with transaction.atomic():
            locked.delete()
    except (ProtectedError, RestrictedError):
        raise Conflict(refused) from None




class Extensions:
    """Rules and facts that higher apps lend to a lower app's services, so the lower app never imports them.

    Apps depend one way (stock <- orders <- allocation), yet a lot's quantity may not go below what
    allocation holds of it, and an order holding allocations may not change. The lower app declares an
    Extensions beside its services and calls it at the right moments; a higher app registers into it in
    its AppConfig.ready():

    - `@extensions.refusal("delete")`: a function given the locked row (and the changes) that raises a
      DomainError to refuse; `refuse("delete", lot=..., changes=...)` runs them all.
    - `@extensions.answer("holders")`: the one function that answers a question the lower app cannot
      (who holds this lot?); `ask("holders", default, lot_id=...)` calls it, or gives `default`.
    - `@extensions.notice("changed")`: a function told of a write once it is made, inside the same
      transaction (e.g. to record an event of it); `tell("changed", lot=..., before=...)` calls them all.
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._refusals: dict[str, list[Callable[..., None]]] = {}
        self._answers: dict[str, Callable[..., object]] = {}
        self._notices: dict[str, list[Callable[..., None]]] = {}

    def refusal(self, event: str) -> Callable:
        return self._register(self._refusals, event)

    def refuse(self, event: str, **context: object) -> None:
        for check in self._refusals.get(event, ()):
            check(**context)

    def notice(self, event: str) -> Callable:
        return self._register(self._notices, event)

    def tell(self, event: str, **context: object) -> None:
        for listener in self._notices.get(event, ()):
            listener(**context)

    @staticmethod
    def _register(registry: dict[str, list[Callable[..., None]]], event: str) -> Callable:
        def register(function: Callable[..., None]) -> Callable[..., None]:
            functions = registry.setdefault(event, [])
            if function not in functions:
                functions.append(function)
            return function
        return register

    def answer(self, question: str) -> Callable:
        def register(answer: Callable[..., object]) -> Callable[..., object]:
            self._answers[question] = answer
            return answer
        return register

    def ask(self, question: str, default: object = None, **context: object) -> object:
        answer = self._answers.get(question)
        return default if answer is None else answer(**context)
