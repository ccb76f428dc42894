"""Refuse an over-long URI (414) or oversized headers (431) in the seed's shape.

These are the API's limits, and they sit below the web server's (config/gunicorn.py), so
every request that is over them still reaches Django and gets the seed's error shape with its
request id, whatever server runs the app. A legitimate request is far below both: the
longest URI the API builds (a path, a cursor, a few filters) is a few hundred bytes, and its
headers (a key, an Idempotency-Key, cookies for the dashboard) a few KiB.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from contract.error_handling import json_error
from contract.errors import InvalidRequest

MAX_URI_BYTES = 4096
MAX_HEADER_BYTES = 16 * 1024


class UriTooLong(InvalidRequest):
    status_override = 414


class HeadersTooLarge(InvalidRequest):
    status_override = 431


def uri_length(request: HttpRequest) -> int:
    """The length of the request's target as the client sent it (path and query string)."""
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if isinstance(raw, str):
        return len(raw.encode("latin-1", errors="replace"))
    query = request.META.get("QUERY_STRING", "")
    return len(request.path.encode()) + (len(query) + 1 if query else 0)


def header_bytes(request: HttpRequest) -> int:
    """How many bytes of header names and values the request came with."""
    total = 0
    for key, value in request.META.items():
        if key.startswith("HTTP_") or key in {"CONTENT_TYPE", "CONTENT_LENGTH"}:
            total += len(key) + len(str(value))
    return total


class RequestSizeLimitMiddleware:
    """Answer 414 or 431 `invalid_request` before anything reads the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if uri_length(request) > MAX_URI_BYTES:
            return json_error(UriTooLong(f"The request URI is longer than {MAX_URI_BYTES} bytes."))
        if header_bytes(request) > MAX_HEADER_BYTES:
            return json_error(
                HeadersTooLarge(f"The request headers are larger than {MAX_HEADER_BYTES} bytes.")
            )
        return self.get_response(request)
