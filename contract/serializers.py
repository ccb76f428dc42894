"""Input serializers that refuse what they do not know, and JSON of the wrong type.

DRF's fields coerce: a CharField takes `0` as "0", a BooleanField takes "yes" as true, an
IntegerField takes "5". A query string has only strings, so coercing is right there; a JSON
body has types, and a value of the wrong one is a 400 naming its field, never a guess. The
check is made here, once, for every field of every `StrictInput` (and the lists, dicts and
nested inputs in them), so a new serializer is strict without choosing special fields.

A query string or form value that is empty (`?chat_id=`) is judged by its field like any
other text, never read as "not given" (DRF's rule for HTML forms): an empty filter would
otherwise be no filter at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.request import Request

from contract.times import rfc3339

# Fields whose JSON value is a string (CharField covers Email, URL, Regex, Slug, IP fields).
_STRING_FIELDS = (
    serializers.CharField,
    serializers.DateTimeField,
    serializers.DateField,
    serializers.TimeField,
    serializers.DurationField,
    serializers.UUIDField,
)


def json_type_errors(field: serializers.Field, value: Any) -> Any:
    """What is wrong with the JSON type of `value` for `field` (DRF's error detail), or None.

    `null` is left to the field (`allow_null`); nested inputs check their own fields.
    """
    if value is None or isinstance(field, serializers.BaseSerializer):
        if isinstance(field, serializers.ListSerializer) and not isinstance(value, list | None):
            return ["Must be a list."]
        return None
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else ["Must be true or false."]
    if isinstance(field, serializers.IntegerField):
        whole = isinstance(value, int) and not isinstance(value, bool)
        return None if whole else ["Must be a whole number."]
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if number else ["Must be a number."]
    if isinstance(field, serializers.MultipleChoiceField):
        return None if isinstance(value, list) else ["Must be a list."]
    if isinstance(field, serializers.ChoiceField):
        textual = all(isinstance(choice, str) for choice in field.choices)
        return ["Must be a string."] if textual and not isinstance(value, str) else None
    if isinstance(field, _STRING_FIELDS):
        return None if isinstance(value, str) else ["Must be a string."]
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return ["Must be a list."]
        items = {i: json_type_errors(field.child, item) for i, item in enumerate(value)}
        return {i: problem for i, problem in items.items() if problem} or None
    if isinstance(field, serializers.DictField):
        if not isinstance(value, dict):
            return ["Must be an object."]
        entries = {key: json_type_errors(field.child, item) for key, item in value.items()}
        return {key: problem for key, problem in entries.items() if problem} or None
    return None  # a field of our own (RecipientsField, …) checks its own input


class StrictInput(serializers.Serializer):
    """An input: unknown fields are a 400 naming them, not silently dropped; a JSON body's
    values must have their field's JSON type (see `json_type_errors`)."""

    # An input on a hot path opts in when none of its fields needs the serializer's context
    # to validate (no default that reads the request): `parse` then validates with fields
    # built once per class, shared by every request, instead of DRF's deep copy of every
    # declared field for every instance. Same fields, same errors.
    shares_fields = False

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field is not allowed."] for name in unknown}
                )
            if isinstance(data, QueryDict):  # a query string or form: all strings
                _refuse_empty_values(self, data)
            else:
                wrong = {
                    name: json_type_errors(field, data[name])
                    for name, field in self.fields.items()
                    if name in data and not field.read_only
                }
                wrong = {name: problem for name, problem in wrong.items() if problem}
                if wrong:
                    raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)

    @classmethod
    def parse(cls, request: Request, **context: Any) -> dict[str, Any]:
        """Validate the request body; 400 `invalid_request` with `fields` when it is not."""
        plain = cls.parse_plain(request.data)
        if plain is not None:
            return plain
        serializer = cls(data=request.data, context={"request": request, **context})
        if cls.shares_fields:
            serializer.__dict__["fields"] = cls._shared_fields()
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @classmethod
    def parse_plain(cls, data: Any) -> dict[str, Any] | None:
        """What the serializer would make of a body it accepts, computed without it for the
        common shapes of a hot path's input; None for anything else (the serializer then
        decides, and words every error)."""
        return None

    @classmethod
    def _shared_fields(cls) -> Any:
        fields = cls.__dict__.get("_fields_of_class")
        if fields is None:
            # Bound once, to an instance of their own that validates nothing.
            fields = cls().fields
            setattr(cls, "_fields_of_class", fields)  # noqa: B010 - set once, read above
        return fields


def _refuse_empty_values(serializer: serializers.Serializer, data: QueryDict) -> None:
    """A 400 naming each optional field given as empty text that does not take it, in the
    field's own words ("This field may not be blank.", "A valid integer is required.")."""
    problems: dict[str, Any] = {}
    for name, field in serializer.fields.items():
        if field.required or field.read_only or getattr(field, "allow_blank", False):
            continue
        if data.get(name) != "":  # the value DRF reads: the last one
            continue
        try:
            field.run_validation("")
        except serializers.ValidationError as error:
            problems[name] = error.detail
        else:  # a field that would take it: empty is still not a value
            problems[name] = ["This field may not be blank."]
    if problems:
        raise serializers.ValidationError(problems)


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
