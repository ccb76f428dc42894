"""Actions on sent messages and chats that happen on the device, synchronously: edit,
react, unsend, typing, read. (Group operations: `messaging.services.groups`.)

`_check_*` decides whether the action applies (409 when it does not); the device runs it
(`handles.sync.job_run_sync`); its effect is applied by the job-result handler, inside the
transaction that records the device's answer, so it holds even if the API caller is gone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from contract.errors import Conflict
from handles import registry
from handles.errors import DeviceActionFailed
from handles.models import Channel, Handle, Job
from handles.sync import job_run_sync
from messaging import events
from messaging.errors import (
    EditFailed,
    InvalidFromHandle,
    ReactionFailed,
    ReadFailed,
    TypingFailed,
    UnsendFailed,
)
from messaging.models import Chat, Message, MessageEdit, Reaction

UNSEND_WINDOW = timedelta(minutes=2)
EDITABLE_CHANNELS = (Channel.IMESSAGE, Channel.WHATSAPP)
DELIVERED = (Message.Status.DELIVERED, Message.Status.READ, Message.Status.RECEIVED)


def _check_handle_still_yours(handle: Handle, account_id: str) -> None:
    """An operator may have moved the handle to another account: its device is not yours."""
    if handle.account_id != account_id:
        raise InvalidFromHandle("This handle is no longer assigned to your account.")


# --- edit ------------------------------------------------------------------------------


def message_edit(*, message: Message, text: str) -> Message:
    if message.direction != Message.Direction.OUTBOUND:
        raise Conflict("Only messages you sent can be edited.")
    if message.channel not in EDITABLE_CHANNELS:
        raise Conflict(f"A {message.channel} message cannot be edited.")
    if (
        message.status not in (Message.Status.SENT, Message.Status.DELIVERED, Message.Status.READ)
        or message.unsent_at
    ):
        raise Conflict(f"Only a sent message can be edited; this one is {message.status}.")
    _check_handle_still_yours(message.handle, message.account_id)
    job_run_sync(
        handle=message.handle,
        kind="edit",
        payload={"message_id": message.id, "upstream_id": message.upstream_id, "text": text},
        failure=EditFailed,
    )
    message.refresh_from_db()
    return message


@registry.on_job_result("edit")
def _edited(job: Job) -> None:
    if job.status != Job.Status.SUCCEEDED:
        return
    message = Message.objects.select_for_update(no_key=True).get(pk=job.payload["message_id"])
    now = timezone.now()
    MessageEdit.objects.create(
        message=message, previous_text=message.text, text=job.payload["text"], at=now
    )
    message.text = job.payload["text"]
    message.edited_at = now
    message.save(update_fields=["text", "edited_at"])
    events.message_edited(message)


# --- reactions ---------------------------------------------------------------------------

# --- reactions ---------------------------------------------------------------------------


def _check_reactable(message: Message) -> None:
    if message.channel == Channel.SMS:
        raise Conflict("SMS messages cannot have reactions.")
    if message.status not in DELIVERED:
        raise Conflict(f"A message can be reacted to once delivered; this one is {message.status}.")


def reaction_add(*, message: Message, type: str) -> Message:
    _check_reactable(message)
    if message.reactions.filter(from_handle=message.handle.address, type=type).exists():
        return message  # already there: adding it again changes nothing
    return _react(message, type, remove=False)


def reaction_remove(*, message: Message, type: str) -> Message:
    _check_reactable(message)
    if not message.reactions.filter(from_handle=message.handle.address, type=type).exists():
        raise Conflict(f"There is no {type} reaction of yours on this message.")
    return _react(message, type, remove=True)


def _react(message: Message, type: str, *, remove: bool) -> Message:
    _check_handle_still_yours(message.handle, message.account_id)
    job_run_sync(
        handle=message.handle,
        kind="react",
        payload={
            "message_id": message.id,
            "upstream_id": message.upstream_id,
            "type": type,
            "remove": remove,
        },
        failure=ReactionFailed,
    )
    return message


def reaction_record(*, message: Message, from_handle: str, type: str, removed: bool) -> None:
    """Apply a reaction change (ours after the device did it, or someone else's)."""
    existing = Reaction.objects.filter(message=message, from_handle=from_handle, type=type)
    if removed:
        if not existing.delete()[0]:
            return
    else:
        if existing.exists():
            return
        Reaction.objects.create(message=message, from_handle=from_handle, type=type)
    events.reaction_changed(message, type=type, from_handle=from_handle, removed=removed)


@registry.on_job_result("react")
def _reacted(job: Job) -> None:
    if job.status != Job.Status.SUCCEEDED:
        return
    message = Message.objects.select_related("handle").get(pk=job.payload["message_id"])
    reaction_record(
        message=message,
        from_handle=message.handle.address,
        type=job.payload["type"],
        removed=bool(job.payload.get("remove")),
    )


# --- unsend ------------------------------------------------------------------------------


def message_unsend(*, message: Message) -> Message:
    if message.direction != Message.Direction.OUTBOUND or message.channel != Channel.IMESSAGE:
        raise Conflict("Only an iMessage you sent can be unsent.")
    if message.unsent_at is not None:
        raise Conflict("This message was already unsent.")
    if message.sent_at is None or timezone.now() - message.sent_at > UNSEND_WINDOW:
        raise Conflict("A message can be unsent within 2 minutes of being sent.")
    _check_handle_still_yours(message.handle, message.account_id)
    job_run_sync(
        handle=message.handle,
        kind="unsend",
        payload={"message_id": message.id, "upstream_id": message.upstream_id},
        failure=UnsendFailed,
    )
    message.refresh_from_db()
    return message


@registry.on_job_result("unsend")
def _unsent(job: Job) -> None:
    if job.status != Job.Status.SUCCEEDED:
        return
    message = Message.objects.select_for_update(no_key=True).get(pk=job.payload["message_id"])
    message.unsent_at = timezone.now()
    message.save(update_fields=["unsent_at"])
    events.message_unsent(message)


# --- typing and read ---------------------------------------------------------------------


def run_chat_job(chat: Chat, kind: str, failure: type[DeviceActionFailed], **changes: Any) -> None:
    """Have the chat's device do `kind` in it (typing, read, a group change), and wait."""
    _check_handle_still_yours(chat.handle, chat.account_id)
    job_run_sync(
        handle=chat.handle,
        kind=kind,
        payload={
            "chat_id": chat.id,
            "upstream_id": chat.upstream_id or None,
            "participants": chat.participants,
            **changes,
        },
        failure=failure,
    )


def chat_typing(*, chat: Chat) -> Chat:
    run_chat_job(chat, "typing", TypingFailed)
    return chat


def chat_read(*, chat: Chat) -> Chat:
    run_chat_job(chat, "read", ReadFailed)
    return chat
