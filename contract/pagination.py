"""Keyset (cursor) pagination, newest first.

The cursor names the last row returned by its (created_at, id); the next page is the rows
strictly after it in that order. That is stable under concurrent inserts (a new row never
shifts a page) and costs one index range scan whatever the depth: the condition is the row
comparison `(created_at, id) < (t, id)`, which PostgreSQL turns into the start of a scan of
an (account, created_at, id) index, so a page 5,000 deep reads its 51 rows and nothing else
(bench/lists.py prints the plan; tests/api/test_pagination.py checks every list's).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import F, Field, Func, Model, QuerySet, Value
from django.db.models.lookups import LessThan
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


class _Row(Func):
    """`(a, b)`: a row value, compared column by column (PostgreSQL and SQLite alike)."""

    template = "(%(expressions)s)"
    output_field = Field()


def keyset_page_queryset(
    request: Request | HttpRequest, queryset: QuerySet[M], *, time_field: str = "created_at"
) -> QuerySet[M]:
    """The rows of one page of `queryset` and one more (to know if there is a next page),
    newest `time_field` first, after the request's cursor."""
    limit = parse_limit(request)
    ordered = queryset.order_by(f"-{time_field}", "-pk")
    cursor = _query(request).get("cursor")
    if cursor == "":
        # Not "the first page": leave it out for that (an empty filter is no value either).
        raise InvalidRequest(
            "cursor is empty: leave it out for the first page.",
            fields={"cursor": ["This field may not be blank."]},
        )
    if cursor is not None:
        moment, pk = decode_cursor(cursor)
        pk_field = queryset.model._meta.pk
        assert pk_field is not None
        try:
            pk_value = pk_field.to_python(pk)
            pk_field.run_validators(pk_value)  # an integer id beyond the column's range
        except (ValidationError, ValueError, TypeError) as exc:  # an id of the wrong type
            raise _invalid_cursor() from exc
        time_output = queryset.model._meta.get_field(time_field)
        assert isinstance(time_output, Field)
        after = _Row(
            Value(moment, output_field=time_output), Value(pk_value, output_field=pk_field)
        )
        ordered = ordered.filter(LessThan(_Row(F(time_field), F("pk")), after))
    return ordered[: limit + 1]


def paginate(
    request: Request | HttpRequest, queryset: QuerySet[M], *, time_field: str = "created_at"
) -> Page:
    """One page of `queryset`, newest `time_field` first, per the request's limit and cursor."""
    limit = parse_limit(request)
    rows = list(keyset_page_queryset(request, queryset, time_field=time_field))
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
