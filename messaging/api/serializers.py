from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contract.errors import DomainError
from contract.pagination import MAX_LIMIT
from contract.serializers import StrictInput
from handles.addresses import handle_normalize
from handles.models import Channel
from messaging.models import Message, Reaction

MAX_TEXT = 10_000
# What DRF's ProhibitSurrogateCharactersValidator refuses.
_SURROGATE = re.compile("[\ud800-\udfff]")
CHANNELS = tuple(Channel.values)
REQUESTED_CHANNELS = ("auto", *CHANNELS)
REACTION_TYPES = tuple(Reaction.Type.values)
MAX_GROUP = 32
MAX_SCHEDULE_AHEAD = timedelta(days=30)
EFFECTS = (
    "slam",
    "loud",
    "gentle",
    "invisible_ink",
    "echo",
    "spotlight",
    "balloons",
    "confetti",
    "love",
    "lasers",
    "fireworks",
    "celebration",
)


class HandleField(serializers.CharField):
    """A handle (E.164 or email), normalized; a bad one is 400 `invalid_handle`."""

    def to_internal_value(self, data: Any) -> str:
        return handle_normalize(data, field=self.field_name or "handle")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "description": "One recipient: a direct message."},
            {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 2,
                "description": "Two or more recipients: the group chat of exactly these people.",
            },
        ]
    }
)
class RecipientsField(serializers.Field):
    def to_internal_value(self, data: Any) -> str | list[str]:
        if isinstance(data, str):
            return handle_normalize(data, field="to")
        if isinstance(data, list):
            recipients = sorted({handle_normalize(item, field="to") for item in data})
            if not 2 <= len(recipients) <= MAX_GROUP:
                raise serializers.ValidationError(
                    f"A group needs 2 to {MAX_GROUP} different recipients."
                )
            return recipients
        raise serializers.ValidationError("Must be a handle or a list of handles.")

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": 500},
        "maxProperties": 20,
    }
)
class MetadataField(serializers.DictField):
    """Metadata, with its number of keys in the document (`validate_metadata` checks it, and
    the keys' 1 to 40 characters, which OpenAPI 3.0 cannot say: it has no `propertyNames`)."""


class MessageCreateInput(StrictInput):
    shares_fields = True  # the send path: see StrictInput
    to = RecipientsField(required=False, help_text="A handle, or 2+ handles for a group.")
    chat_id = serializers.CharField(required=False, max_length=40, help_text="Send into a chat.")
    from_handle = HandleField(required=False, help_text="One of your handles (default: chosen).")
    text = serializers.CharField(
        required=False, max_length=MAX_TEXT, allow_blank=True, default="", trim_whitespace=False
    )
    attachments = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=10, default=list
    )
    channel = serializers.ChoiceField(choices=REQUESTED_CHANNELS, required=False, default="auto")
    fallback = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="With imessage (or auto): fall back to SMS if the recipient is not on "
        "iMessage. Default true for auto, false for imessage.",
    )
    effect = serializers.ChoiceField(choices=EFFECTS, required=False)
    reply_to = serializers.CharField(required=False, max_length=40, default=None)
    send_at = serializers.DateTimeField(
        required=False, default=None, help_text="In the future, at most 30 days ahead."
    )
    metadata = MetadataField(
        child=serializers.CharField(max_length=500, allow_blank=True),
        required=False,
        default=dict,
        help_text="Up to 20 string keys (≤ 40 chars) and values (≤ 500 chars), echoed back.",
    )

    def validate_send_at(self, value: Any) -> Any:
        if value is None:
            return value
        now = timezone.now()
        if value <= now:
            raise serializers.ValidationError("Must be in the future.")
        if value > now + MAX_SCHEDULE_AHEAD:
            raise serializers.ValidationError("Must be at most 30 days ahead.")
        return value

    def validate_metadata(self, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 20:
            raise serializers.ValidationError("At most 20 keys.")
        if any(not key or len(key) > 40 for key in value):
            raise serializers.ValidationError("Keys must be 1 to 40 characters.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_to, has_chat = attrs.get("to") is not None, attrs.get("chat_id") is not None
        if has_to == has_chat:
            raise serializers.ValidationError(
                {"to": ["Give exactly one of to and chat_id."]}
                if has_to
                else {"to": ["Required (or give chat_id)."]}
            )
        if not attrs.get("text", "").strip() and not attrs.get("attachments"):
            raise serializers.ValidationError({"text": ["Give text or attachments."]})
        return attrs

    @classmethod
    def parse_plain(cls, data: Any) -> dict[str, Any] | None:
        """A direct message with text (and optionally from_handle, channel, fallback, effect,
        reply_to, metadata), valid, as the serializer would validate it; else None."""
        if type(data) is not dict or not data.keys() <= _PLAIN_KEYS:
            return None
        try:
            return _plain_send(data)
        except (_NotPlain, DomainError):
            return None


class _NotPlain(Exception):
    """Not a shape `parse_plain` decides: the serializer will."""


_PLAIN_KEYS = frozenset(
    {
        "to",
        "chat_id",
        "from_handle",
        "text",
        "channel",
        "fallback",
        "effect",
        "reply_to",
        "metadata",
    }
)


def _plain_str(value: Any, *, strip: bool, max_length: int | None = None) -> str:
    """A string DRF's CharField takes unchanged but for stripping: no NUL, no surrogate."""
    if type(value) is not str or "\x00" in value or _SURROGATE.search(value):
        raise _NotPlain
    if strip:
        value = value.strip()
    if max_length is not None and len(value) > max_length:
        raise _NotPlain
    return value


def _plain_send(data: dict[str, Any]) -> dict[str, Any]:
    has_to, has_chat = data.get("to") is not None, data.get("chat_id") is not None
    if has_to == has_chat or ("to" in data and not has_to) or ("chat_id" in data and not has_chat):
        raise _NotPlain
    text = _plain_str(data.get("text", ""), strip=False, max_length=MAX_TEXT)
    if not text.strip():
        raise _NotPlain
    channel = data.get("channel", "auto")
    fallback = data.get("fallback")
    if channel not in REQUESTED_CHANNELS or not (fallback is None or type(fallback) is bool):
        raise _NotPlain
    parsed: dict[str, Any] = {
        "text": text,
        "attachments": [],
        "channel": channel,
        "fallback": fallback,
        "reply_to": None,
        "send_at": None,
        "metadata": _plain_metadata(data.get("metadata", {})),
    }
    if has_to:
        to = _plain_str(data["to"], strip=False)
        if not to.strip():
            raise _NotPlain
        parsed["to"] = handle_normalize(to, field="to")
    else:
        parsed["chat_id"] = _plain_str(data["chat_id"], strip=True, max_length=40)
        if not parsed["chat_id"]:
            raise _NotPlain
    if "from_handle" in data:
        from_handle = _plain_str(data["from_handle"], strip=False)
        if not from_handle.strip():
            raise _NotPlain
        parsed["from_handle"] = handle_normalize(from_handle, field="from_handle")
    if "effect" in data:
        if data["effect"] not in EFFECTS:
            raise _NotPlain
        parsed["effect"] = data["effect"]
    if "reply_to" in data:
        parsed["reply_to"] = _plain_str(data["reply_to"], strip=True, max_length=40)
        if not parsed["reply_to"]:
            raise _NotPlain
    return parsed


def _plain_metadata(metadata: Any) -> dict[str, str]:
    if type(metadata) is not dict or len(metadata) > 20:
        raise _NotPlain
    plain = {}
    for key, value in metadata.items():
        if not 1 <= len(_plain_str(key, strip=False)) <= 40:
            raise _NotPlain
        plain[key] = _plain_str(value, strip=True, max_length=500)
    return plain


class MessageListQuery(StrictInput):
    chat_id = serializers.CharField(required=False, max_length=40)
    status = serializers.ChoiceField(choices=Message.Status.values, required=False)
    direction = serializers.ChoiceField(choices=Message.Direction.values, required=False)
    channel = serializers.ChoiceField(choices=CHANNELS, required=False)
    from_handle = HandleField(required=False)
    to = HandleField(required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIMIT, help_text="1 to 100 (default 50)."
    )
    cursor = serializers.CharField(required=False, help_text="`next_cursor` of the previous page.")


FILTER_NAMES = frozenset(MessageListQuery().fields)


class MessageEditInput(StrictInput):
    text = serializers.CharField(max_length=MAX_TEXT, trim_whitespace=False)


class ReactionInput(StrictInput):
    type = serializers.ChoiceField(choices=REACTION_TYPES)


class ChatCreateInput(StrictInput):
    participants = serializers.ListField(
        child=HandleField(), min_length=2, max_length=MAX_GROUP, help_text="2+ handles."
    )
    from_handle = HandleField(required=False, default=None)
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    text = serializers.CharField(
        max_length=MAX_TEXT,
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        help_text="A first message, sent into the new group.",
    )

    def validate_participants(self, value: list[str]) -> list[str]:
        unique = sorted(set(value))
        if len(unique) < 2:
            raise serializers.ValidationError("A group needs 2 or more different people.")
        return unique


class ChatRenameInput(StrictInput):
    name = serializers.CharField(max_length=200, allow_blank=True)


class ParticipantInput(StrictInput):
    handle = HandleField()
