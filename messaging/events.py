"""What messaging tells the outside world: the JSON form of a message and of a chat, and the
events it publishes with them.

A message (or chat) reads the same in an API response and in a webhook event's `data`:
both come from `message_data` / `chat_data`, and the API's output serializers render with
them (`messaging.api.outputs`). Services publish through the functions below, inside
the transaction of their change (the outbox, `webhooks.services.event_publish`).
"""

from __future__ import annotations

from typing import Any

from contract.times import rfc3339
from messaging.models import Attachment, Chat, Message, OptOut, Reaction
from webhooks.services import Along, event_publish, event_publish_many

# The event of each status a message can move to; no event for `scheduled` and `sending`.
STATUS_EVENTS: dict[str, str] = {
    Message.Status.QUEUED: "message.queued",
    Message.Status.SENT: "message.sent",
    Message.Status.DELIVERED: "message.delivered",
    Message.Status.READ: "message.read",
    Message.Status.FAILED: "message.failed",
    Message.Status.RECEIVED: "message.received",
}


def _time(moment: Any) -> str | None:
    return None if moment is None else rfc3339(moment)


def attachment_data(attachment: Attachment) -> dict[str, Any]:
    """An attachment as a message (and a device's `send` job) carries it."""
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }


def message_attachments(message: Message) -> list[Attachment]:
    """The message's attachments in the order they were given (prefetch `attachments`)."""
    return sorted(message.attachments.all(), key=lambda a: (a.position, a.id))


def _reaction_data(reaction: Reaction) -> dict[str, Any]:
    return {
        "type": str(reaction.type),
        "from_handle": reaction.from_handle,
        "created_at": rfc3339(reaction.created_at),
    }


def message_data(message: Message) -> dict[str, Any]:
    """A message, as the API answers it and as `message.*` events carry it."""
    error = None
    if message.error_code:
        error = {"code": message.error_code, "message": message.error_message}
    return {
        "id": message.id,
        "chat_id": message.chat_id,
        "direction": str(message.direction),
        "from_handle": message.from_handle,
        "to": message.to,
        "channel": str(message.channel),
        "status": str(message.status),
        "reason": message.status_reason or None,
        "text": message.text,
        "attachments": [attachment_data(a) for a in message_attachments(message)],
        "effect": message.effect or None,
        "reply_to": message.reply_to_id,
        "reactions": [_reaction_data(r) for r in message.reactions.all()],
        "metadata": {str(key): str(value) for key, value in message.metadata.items()},
        "error": error,
        "attempts": message.attempts,
        "created_at": rfc3339(message.created_at),
        "send_at": _time(message.send_at),
        "sent_at": _time(message.sent_at),
        "delivered_at": _time(message.delivered_at),
        "read_at": _time(message.read_at),
        "failed_at": _time(message.failed_at),
        "edited_at": _time(message.edited_at),
        "unsent_at": _time(message.unsent_at),
    }


def chat_data(chat: Chat) -> dict[str, Any]:
    """A chat, as the API answers it and as `chat.updated` carries it."""
    return {
        "id": chat.id,
        "type": str(chat.type),
        "handle": chat.handle.address,
        "participants": [str(p) for p in chat.participants],
        "name": chat.name or None,
        "channel": str(chat.channel),
        "created_at": rfc3339(chat.created_at),
        "last_message_at": _time(chat.last_message_at),
    }


def opt_out_data(opt_out: OptOut) -> dict[str, Any]:
    """An opt-out, as the API answers it (`GET /v1/opt-outs`)."""
    return {
        "recipient": opt_out.recipient,
        "source": str(opt_out.source),
        "reason": opt_out.reason,
        "created_at": rfc3339(opt_out.created_at),
    }


# --- publishing ------------------------------------------------------------------------


def message_status_changed(message: Message) -> None:
    """Publish the event of the status the message just moved to, if that status has one."""
    event_type = STATUS_EVENTS.get(message.status)
    if event_type is not None:
        _publish_message(message, event_type)


def message_edited(message: Message) -> None:
    _publish_message(message, "message.edited")


def message_unsent(message: Message) -> None:
    _publish_message(message, "message.unsent")


def message_status_event(message: Message) -> dict[str, Any] | None:
    """The event of the status the message just moved to, as `events_publish` takes it (None
    for a status without one): its data is the message as it is now."""
    event_type = STATUS_EVENTS.get(message.status)
    if event_type is None:
        return None
    return {
        "account": message.account_id,
        "type": event_type,
        "data": message_data(message),
        "subject": message.id,
    }


def events_publish(
    events: list[dict[str, Any]], *, along: Along | None = None, late: bool = False
) -> None:
    """Publish a batch of events (`event_publish`'s keyword arguments each), in order, in
    one statement (`event_publish_many`), with the caller's writes `along` if given, left to
    the end of the transaction if `late` and it can be."""
    event_publish_many(events=events, along=along, late=late)


def _publish_message(message: Message, event_type: str) -> None:
    event_publish(
        account=message.account_id,
        type=event_type,
        data=message_data(message),
        subject=message.id,
    )


def reaction_changed(message: Message, *, type: str, from_handle: str, removed: bool) -> None:
    """Publish `reaction.added` or `reaction.removed`, with the message as it is now."""
    event_publish(
        account=message.account_id,
        type="reaction.removed" if removed else "reaction.added",
        subject=message.id,
        data={
            "message_id": message.id,
            "type": type,
            "from_handle": from_handle,
            "message": message_data(message),
        },
    )


def chat_updated(chat: Chat, *, change: str) -> None:
    """Publish `chat.updated`; `change` says what: created, name or participants."""
    event_publish(
        account=chat.account_id,
        type="chat.updated",
        data={**chat_data(chat), "change": change},
        subject=chat.id,
    )


def contact_opted(
    *,
    account_id: str,
    opted_out: bool,
    recipient: str,
    source: str,
    reason: str,
    at: Any,
    handle: str | None,
    message_id: str | None,
) -> None:
    """Publish `contact.opted_out` or `contact.opted_in`: who, how (`source`), why, when, and
    for a keyword the handle that received it and the message that said it."""
    event_publish(
        account=account_id,
        type="contact.opted_out" if opted_out else "contact.opted_in",
        subject=recipient,
        data={
            "recipient": recipient,
            "source": source,
            "reason": reason,
            "handle": handle,
            "message_id": message_id,
            "created_at": rfc3339(at),
        },
    )
