"""Input serializers that refuse what they do not know."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.request import Request

from contract.times import rfc3339


class StrictInput(serializers.Serializer):
    """An input body: unknown fields are a 400 naming them, not silently dropped."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field is not allowed."] for name in unknown}
                )
        return super().to_internal_value(data)

    @classmethod
    def parse(cls, request: Request, **context: Any) -> dict[str, Any]:
        """Validate the request body; 400 `invalid_request` with `fields` when it is not."""
        serializer = cls(data=request.data, context={"request": request, **context})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


# The one error shape, for OpenAPI only: errors are built by the exception handler.
ErrorOutput = inline_serializer(
    "Error",
    fields={
        "error": serializers.CharField(help_text="Stable machine-readable code; branch on this."),
        "message": serializers.CharField(help_text="Human-readable; may change."),
        "fields": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Validation errors only: the problems of each field.",
        ),
        "request_id": serializers.CharField(help_text="Also in the X-Request-Id header."),
    },
)


class Timestamp(serializers.DateTimeField):
    """A time as the API writes them all (see `rfc3339`)."""

    def to_representation(self, value: Any) -> Any:
        return None if value is None else rfc3339(value)
