"""Shared pieces of the allocation commands: JSON output and domain errors."""
from __future__ import annotations

import json
from decimal import Decimal

from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder

from allocation.domain import InsufficientStock
from inventory_alloc.errors import DomainError


class DecimalsAsStrings(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return str(o)
        return super().default(o)


def dump(data: object) -> str:
    return json.dumps(data, cls=DecimalsAsStrings, ensure_ascii=False, indent=2)


def command_error(error: DomainError) -> CommandError:
    """Turn a domain error into a CommandError that says what and why."""
    lines = [error.message]
    if isinstance(error, InsufficientStock):
        lines += [f"  line {s.line_id}: short {s.short} of {s.requested} ({s.reason})" for s in error.shortfalls]
    return CommandError("\n".join(lines))
