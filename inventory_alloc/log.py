"""Logging: one JSON line per record on stderr (CloudWatch keeps stderr on Lambda), each with its request id.

The request id is Lambda's (`aws_request_id`, the id CloudWatch and API Gateway show for the invocation),
else the caller's `X-Request-ID` (letters, digits, dashes; 8 to 64 of them), else a new one; every answer
carries it back in `X-Request-ID`, so a user's error report leads straight to its log lines.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid

REQUEST_ID = contextvars.ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"[A-Za-z0-9-]{8,64}")


class RequestIdFilter(logging.Filter):
    """Give every record the id of the request being served ("-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON: time, level, logger, message, request id, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def request_id_of(request) -> str:
    context = request.META.get("lambda.context")
    if context is not None and getattr(context, "aws_request_id", None):
        return str(context.aws_request_id)
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Set the request id for the log lines of one request, and answer it in `X-Request-ID`."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_of(request)
        token = REQUEST_ID.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            REQUEST_ID.reset(token)
        response["X-Request-ID"] = request_id
        return response
