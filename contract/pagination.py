"""Keyset (cursor) pagination, newest first.

The cursor names the last row returned by its (created_at, id); the next page is the rows
strictly after it in that order. That is stable under concurrent inserts (a new row never
shifts a page) and costs one index range scan whatever the depth.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, QueryDict
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from contract.envelope import page
from contract.errors import InvalidRequest
from contract.parsers import loads_strict

PAGE_PARAMS = frozenset({"limit", "cursor"})
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# The same two parameters, for the OpenAPI document.
PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        description=f"1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
    ),
    OpenApiParameter("cursor", str, description="`next_cursor` of the previous page."),
]

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    has_more: bool
    next_cursor: str | None


def encode_cursor(created_at: datetime, pk: str) -> str:
    raw = json.dumps({"t": created_at.isoformat(), "id": pk}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _invalid_cursor() -> InvalidRequest:
    return InvalidRequest(
        "cursor is not valid: pass the next_cursor of a previous page.",
        fields={"cursor": ["Not a valid cursor."]},
    )


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (time, id) a cursor names; 400 for anything we did not write (the JSON parser's
    rules apply: no deep nesting, no NUL, so nothing reaches the database but a valid key)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = loads_strict(base64.urlsafe_b64decode(padded.encode()).decode())
        created_at = datetime.fromisoformat(payload["t"])
        pk = payload["id"]
        if created_at.tzinfo is None or not isinstance(pk, str):
            raise ValueError(cursor)
        return created_at, pk
    except (ValueError, KeyError, TypeError, binascii.Error, InvalidRequest) as exc:
        raise _invalid_cursor() from exc


def _query(request: Request | HttpRequest) -> QueryDict:
    """The query parameters of an API request or of a page's request."""
    return request.query_params if isinstance(request, Request) else request.GET


def parse_limit(request: Request | HttpRequest) -> int:
    raw = _query(request).get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest(
            f"limit must be a whole number from 1 to {MAX_LIMIT}.",
            fields={"limit": [f"Must be a whole number from 1 to {MAX_LIMIT}."]},
        )
    return int(raw)


def paginate(
    request: Request | HttpRequest, queryset: QuerySet[M], *, time_field: str = "created_at"
) -> Page:
    """One page of `queryset`, newest `time_field` first, per the request's limit and cursor."""
    limit = parse_limit(request)
    ordered = queryset.order_by(f"-{time_field}", "-pk")
    cursor = _query(request).get("cursor")
    if cursor:
        moment, pk = decode_cursor(cursor)
        try:
            # The first condition is implied by the other two; it is there so the database
            # can start the index scan at the cursor instead of filtering its way to it.
            ordered = ordered.filter(
                Q(**{f"{time_field}__lte": moment}),
                Q(**{f"{time_field}__lt": moment}) | Q(**{time_field: moment, "pk__lt": pk}),
            )
        except (ValueError, TypeError) as exc:  # an id of the wrong type: not our cursor
            raise _invalid_cursor() from exc
    rows = list(ordered[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more:
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, time_field), str(last.pk))
    return Page(rows=rows, has_more=has_more, next_cursor=next_cursor)


def paged_response(
    request: Request,
    queryset: QuerySet[M],
    output: type[Serializer],
    **context: Any,
) -> Response:
    """One page of `queryset`, rendered with `output`, in the list envelope."""
    result = paginate(request, queryset)
    rows = output(result.rows, many=True, context=context).data
    return page(list(rows), has_more=result.has_more, next_cursor=result.next_cursor)
