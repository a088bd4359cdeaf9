"""The one place that turns errors into HTTP answers (REST_FRAMEWORK EXCEPTION_HANDLER).

- InvalidInput (a domain error naming a field) -> 400 ``{"<field>": ["reason"], "detail": "reason"}``
- NotFound -> 404 ``{"detail": ...}``
- Conflict -> 409 ``{"detail": ..., "code": "conflict", ...data}``; InsufficientStock adds
  ``shortfalls`` (per line), LotOverAllocated adds ``orders`` (the holders)
- Django ValidationError -> 400 (field errors as DRF shapes them)
- IntegrityError, ProtectedError, RestrictedError -> 409
- DataError, OverflowError (a number too big for the database) -> 400
- a lock wait that ran out (PostgreSQL lock_timeout, SQLite "database is locked") -> 409 `busy`
- a statement that ran out of time (statement_timeout) -> 503 `timeout`; a lost database -> 503 `unavailable`
The database driver's own message is logged, never answered. Every answer is JSON: Django's own 400, 403,
404 and 500 pages are JSON for /api/ paths too.
"""
from __future__ import annotations

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from inventory_alloc.errors import Conflict, DomainError, InvalidInput, NotFound

logger = logging.getLogger(__name__)


def _plain(value: object) -> object:
    """Return `value` made JSON-friendly (dataclasses, decimals, dates)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def domain_error_response(error: DomainError) -> Response:
    """Return the HTTP answer of a domain error: 400, 404 or 409 with its message, code and data."""
    data = {key: _plain(value) for key, value in error.payload().items()}
    if isinstance(error, InvalidInput):
        return Response({error.field: [error.message], "detail": error.message, **data}, status=status.HTTP_400_BAD_REQUEST)
    body = {"detail": error.message, "code": error.code, **data}
    if isinstance(error, NotFound):
        return Response(body, status=status.HTTP_404_NOT_FOUND)
    if isinstance(error, Conflict):
        return Response(body, status=status.HTTP_409_CONFLICT)
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Map domain and database errors to 400/404/409; DRF's own errors as DRF does."""
    response = _mapped(exc)
    if response is None:
        return drf_exception_handler(exc, context)
    set_rollback()
    return response


def _mapped(exc: Exception) -> Response | None:
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, DjangoValidationError):
        detail = as_serializer_error(exc)
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response(
            {"detail": "Other records refer to this one, so it cannot be deleted.", "code": "protected"},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, IntegrityError):
        logger.info("Integrity error answered 409: %s", exc)
        return Response(
            {"detail": "The change conflicts with existing data (a duplicate or a broken rule).", "code": "integrity"},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DataError | OverflowError):
        logger.info("Data error answered 400: %s", exc)
        return Response({"detail": "A value is out of range for its field.", "code": "out_of_range"},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, OperationalError | InterfaceError):
        return database_trouble(exc)
    return None


LOCK_TIMEOUT, STATEMENT_TIMEOUT = "55P03", "57014"  # PostgreSQL's SQLSTATE codes


def database_trouble(exc: Exception) -> Response:
    """Answer a database that did not answer in time, or at all: 409 busy, 503 timeout or unavailable."""
    code = getattr(exc.__cause__, "pgcode", None)
    logger.warning("Database error answered without its text: %s", exc)
    if code == LOCK_TIMEOUT or "database is locked" in str(exc):
        return Response({"detail": "Another change holds these records; try again in a moment.", "code": "busy"},
                        status=status.HTTP_409_CONFLICT)
    if code == STATEMENT_TIMEOUT:
        return Response({"detail": "The database took too long to answer; try again, or ask for less.",
                         "code": "timeout"}, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})
    return Response({"detail": "The database is unavailable; try again later.", "code": "unavailable"},
                    status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "30"})


def _under_api(request) -> bool:
    return request.path_info.startswith("/api/") or request.path_info == "/api"


def bad_request(request, exception=None):
    """Django's 400 (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a Host not allowed, ...), as JSON under /api/."""
    if _under_api(request):
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    """Django's 403 (e.g. a CSRF failure), as JSON under /api/."""
    if _under_api(request):
        return JsonResponse({"detail": "Forbidden.", "code": "forbidden"}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    """Django's 404, as JSON under /api/."""
    if _under_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """Django's 500, as JSON under /api/."""
    if _under_api(request):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    return defaults.server_error(request)
