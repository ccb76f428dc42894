"""Request ids: one per request, in the `X-Request-Id` header, the body and every log line."""

from __future__ import annotations

import contextvars
import logging
import secrets
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "switchboard_request_id", default=None
)

HEADER = "X-Request-Id"


def new_request_id() -> str:
    """Return a fresh id: `req_` and 24 url-safe random characters."""
    return "req_" + secrets.token_urlsafe(18)


def current_request_id() -> str:
    """The id of the request being served; a fresh one outside any request."""
    value = _request_id.get()
    if value is None:
        value = new_request_id()
        _request_id.set(value)
    return value


class RequestIdMiddleware:
    """Give the request an id before anything else runs and put it on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        token = _request_id.set(request_id)
        request.request_id = request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
            # A replayed idempotent response keeps the id of the request that made it.
            if HEADER not in response:
                response[HEADER] = request_id
            return response
        finally:
            _request_id.reset(token)


def install_log_record_factory() -> None:
    """Stamp every log record, from any logger or handler, with the current request id."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stamps_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = _request_id.get()
        return record

    factory.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
