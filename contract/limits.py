"""Refuse an oversized body before anything reads it, and read chunked bodies.

A body sent with `Transfer-Encoding: chunked` has no Content-Length, and Django reads a
request without one as empty. When the server has already undone the chunking and marks the
end of the body (`wsgi.input_terminated`, which gunicorn sets), the body is read here, up to
the path's limit (413 past it), into a spooled file (memory, then disk) that the request
reads from with its Content-Length set: a streamed upload or JSON body works as if its
length had been sent. A server that does not mark it cannot be read safely: 411.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from typing import IO

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse

from contract.error_handling import json_error
from contract.errors import InvalidRequest, LengthRequired, PayloadTooLarge

_CHUNK = 64 * 1024

# Paths that take larger bodies than the JSON limit, with their own ceiling (bytes).
LARGE_BODY_PATHS: list[tuple[re.Pattern[str], int]] = []


def body_limit_for(path: str) -> int:
    for pattern, limit in LARGE_BODY_PATHS:
        if pattern.match(path):
            return limit
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


class BodySizeLimitMiddleware:
    """Answer 413 `payload_too_large` when Content-Length is over the path's limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit_for(request.path)
        too_large = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        if is_chunked(request):
            if not request.META.get("wsgi.input_terminated"):
                return json_error(LengthRequired())
            spooled = _spool(request.META["wsgi.input"], limit)
            if spooled is None:
                return json_error(too_large)
            with spooled:
                _read_from(request, spooled)
                return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(InvalidRequest("Content-Length is not a number."))
        if length > limit:
            return json_error(too_large)
        return self.get_response(request)


def is_chunked(request: HttpRequest) -> bool:
    """A body is coming without a Content-Length (`Transfer-Encoding: chunked`)."""
    encoding = request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding and not request.META.get("CONTENT_LENGTH")


def _spool(source: IO[bytes], limit: int) -> IO[bytes] | None:
    """The whole body in a spooled file, or None (and nothing kept) when it is over `limit`."""
    # Returned open: the middleware closes it once the response is made.
    spooled = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
    size = 0
    while block := source.read(_CHUNK):
        size += len(block)
        if size > limit:
            spooled.close()
            return None
        spooled.write(block)
    spooled.seek(0)
    return spooled


def _read_from(request: HttpRequest, body: IO[bytes]) -> None:
    """Make `request` read `body` as if it had come with its Content-Length."""
    length = body.seek(0, 2)
    body.seek(0)
    request.META["CONTENT_LENGTH"] = str(length)
    # Django reads the body from `_stream`, made from wsgi.input when the request was built
    # (with the length it then had: none); nothing has read it yet.
    request._stream = LimitedStream(body, length)  # type: ignore[arg-type, assignment]
