from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contract.errors import DomainError
from contract.pagination import MAX_LIMIT
from contract.serializers import StrictInput, Timestamp
from handles.addresses import handle_normalize
from handles.models import Channel
from messaging.events import chat_data, message_data
from messaging.models import Chat, Message, Reaction

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


class AttachmentOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`att_…`")
    filename = serializers.CharField()
    content_type = serializers.CharField(help_text="Sniffed from the bytes, not the name.")
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class AttachmentDetailOutput(AttachmentOutput):
    message_id = serializers.CharField(allow_null=True, help_text="The message that used it.")
    created_at = Timestamp()


class StatusChangeOutput(serializers.Serializer):
    status = serializers.CharField()
    at = Timestamp()
    detail = serializers.CharField(help_text="Why, when there is more to say.")
    applied = serializers.BooleanField(
        help_text="False for a late report that did not move the status (it never goes back)."
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # `source` is a Field attribute, so this field is declared here, not on the class.
        fields = super().get_fields()
        fields["source"] = serializers.CharField(help_text="api, dispatcher, device or sweeper.")
        return fields


class ReactionOutput(serializers.Serializer):
    type = serializers.ChoiceField(choices=REACTION_TYPES)
    from_handle = serializers.CharField(help_text="Who reacted (your handle for your own).")
    created_at = Timestamp()


class ErrorDetailOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class MessageOutput(serializers.Serializer):
    """A message: its fields declare the document, its values are `message_data`'s.

    The same as a webhook event carries; a test holds the two to each other.
    """

    id = serializers.CharField(help_text="`msg_…`")
    chat_id = serializers.CharField()
    direction = serializers.ChoiceField(choices=Message.Direction.choices)
    from_handle = serializers.CharField()
    to = RecipientsField()
    channel = serializers.ChoiceField(choices=CHANNELS)
    status = serializers.ChoiceField(choices=Message.Status.choices)
    reason = serializers.ChoiceField(
        choices=["new_contact_budget", "line_health"],
        allow_null=True,
        help_text="Why a `scheduled` message with no `send_at` is held: the handle's "
        "new-contact budget is used up, or its line is critical (docs/compliance.md). Null "
        "otherwise.",
    )
    text = serializers.CharField()
    attachments = AttachmentOutput(many=True, help_text="What was sent or received with it.")
    effect = serializers.SerializerMethodField()
    reply_to = serializers.CharField(source="reply_to_id", allow_null=True)
    reactions = serializers.SerializerMethodField()
    metadata = serializers.DictField(child=serializers.CharField())
    error = serializers.SerializerMethodField()
    attempts = serializers.IntegerField()
    created_at = Timestamp()
    send_at = Timestamp(allow_null=True)
    sent_at = Timestamp(allow_null=True)
    delivered_at = Timestamp(allow_null=True)
    read_at = Timestamp(allow_null=True)
    failed_at = Timestamp(allow_null=True)
    edited_at = Timestamp(allow_null=True)
    unsent_at = Timestamp(allow_null=True)

    def to_representation(self, instance: Message) -> dict[str, Any]:
        return message_data(instance)

    # The methods below only type the fields for the document: `message_data` renders them.
    def get_effect(self, message: Message) -> str | None:
        raise NotImplementedError

    @extend_schema_field(ReactionOutput(many=True))
    def get_reactions(self, message: Message) -> list[dict[str, Any]]:
        raise NotImplementedError

    @extend_schema_field(ErrorDetailOutput(allow_null=True))
    def get_error(self, message: Message) -> dict[str, str] | None:
        raise NotImplementedError


class EditOutput(serializers.Serializer):
    previous_text = serializers.CharField()
    text = serializers.CharField()
    at = Timestamp()


class MessageDetailOutput(MessageOutput):
    status_history = StatusChangeOutput(source="history.all", many=True)
    edit_history = EditOutput(source="edits.all", many=True)

    def to_representation(self, instance: Message) -> dict[str, Any]:
        return {
            **message_data(instance),
            "status_history": StatusChangeOutput(instance.history.all(), many=True).data,
            "edit_history": EditOutput(instance.edits.all(), many=True).data,
        }


class ChatOutput(serializers.Serializer):
    """A chat: fields for the document, values from `chat_data` (see MessageOutput)."""

    id = serializers.CharField(help_text="`chat_…`")
    type = serializers.ChoiceField(choices=Chat.Type.choices)
    handle = serializers.CharField(source="handle.address", help_text="Our handle in this chat.")
    participants = serializers.ListField(child=serializers.CharField())
    name = serializers.SerializerMethodField()
    channel = serializers.ChoiceField(choices=CHANNELS)
    created_at = Timestamp()
    last_message_at = Timestamp(allow_null=True)

    def to_representation(self, instance: Chat) -> dict[str, Any]:
        return chat_data(instance)

    def get_name(self, chat: Chat) -> str | None:
        raise NotImplementedError  # only types the field: `chat_data` renders it


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


class ChatCreatedOutput(serializers.Serializer):
    chat = ChatOutput()
    message = MessageOutput(allow_null=True, help_text="The first message, when text was given.")
