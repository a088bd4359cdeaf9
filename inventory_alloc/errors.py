"""The errors a rule of the books raises, shared by every app: plain Python, no Django.

Each says how the API answers it (400, 404, 409) and carries the data that explains it, so the API,
the admin and the commands can all show the same words. Apps subclass them for their own cases
(`allocation.domain.InsufficientStock`, ...); one place (`inventory_alloc.exceptions`) turns them into
HTTP answers.
"""
from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request. Subclasses say how (400/404/409)."""

    default_message = "The request breaks a business rule."
    code = "refused"

    def __init__(self, message: str | None = None, **data: object) -> None:
        self.message = message or self.default_message
        self.data = data
        super().__init__(self.message)

    def payload(self) -> dict:
        """Return what an answer shows beside the message: the error's data."""
        return dict(self.data)


class InvalidInput(DomainError):
    """A parameter is wrong: `field` names it (maps to 400)."""

    code = "invalid"

    def __init__(self, message: str, *, field: str, **data: object) -> None:
        super().__init__(message, **data)
        self.field = field


class NotFound(DomainError):
    """Something named by the request does not exist (maps to 404)."""

    default_message = "Not found."
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state (maps to 409)."""

    default_message = "The request conflicts with the current state."
    code = "conflict"
