"""What the messages API answers: messages, their attachments, history, reactions and edits,
and chats. A message and a chat render once, through `messaging.events` (`message_data`,
`chat_data`), so a webhook payload and an API answer are the same object; these classes give
the OpenAPI document their shape."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contract.serializers import Timestamp
from messaging.api.serializers import CHANNELS, REACTION_TYPES, RecipientsField
from messaging.events import chat_data, message_data
from messaging.models import Chat, Message


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


class ChatCreatedOutput(serializers.Serializer):
    chat = ChatOutput()
    message = MessageOutput(allow_null=True, help_text="The first message, when text was given.")
