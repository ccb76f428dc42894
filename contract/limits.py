"""Refuse an oversized body before anything reads it."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from contract.error_handling import json_error
from contract.errors import InvalidRequest, PayloadTooLarge

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
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(InvalidRequest("Content-Length is not a number."))
        limit = body_limit_for(request.path)
        if length > limit:
            return json_error(PayloadTooLarge(f"The request body is larger than {limit} bytes."))
        return self.get_response(request)
