"""The success envelope: `{"data": …, "request_id": …}` (lists add `has_more`, `next_cursor`)."""

from __future__ import annotations

from functools import cache
from typing import Any

from rest_framework import serializers, status
from rest_framework.response import Response

from contract.request_id import current_request_id


def ok(data: Any, *, status_code: int = status.HTTP_200_OK) -> Response:
    return Response({"data": data, "request_id": current_request_id()}, status=status_code)


def created(data: Any) -> Response:
    return ok(data, status_code=status.HTTP_201_CREATED)


def accepted(data: Any) -> Response:
    return ok(data, status_code=status.HTTP_202_ACCEPTED)


def page(data: list[Any], *, has_more: bool, next_cursor: str | None) -> Response:
    return Response(
        {
            "data": data,
            "has_more": has_more,
            "next_cursor": next_cursor,
            "request_id": current_request_id(),
        }
    )


@cache
def envelope(
    inner: type[serializers.Serializer], *, many: bool = False, paginated: bool = False
) -> type[serializers.Serializer]:
    """The OpenAPI shape of an enveloped response of `inner` (schema generation only)."""
    base_name = inner.__name__.removesuffix("Serializer").removesuffix("Output")
    suffix = "Page" if paginated else "List" if many else "Response"
    attrs: dict[str, Any] = {
        "data": inner(many=many or paginated),
        "request_id": serializers.CharField(help_text="Also in the X-Request-Id header."),
    }
    if paginated:
        attrs["has_more"] = serializers.BooleanField()
        attrs["next_cursor"] = serializers.CharField(
            allow_null=True, help_text="Pass as `cursor` to get the next page."
        )
    return type(base_name + suffix, (serializers.Serializer,), attrs)
