"""Message and chat actions that happen on the device, synchronously: edit, react, unsend,
typing, read, and group operations.

`check_*` decides whether the action applies (409 when it does not); the device runs it
(`handles.sync.job_run_sync`); its effect is applied by the job-result handler, inside the
transaction that records the device's answer, so it holds even if the API caller is gone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from config.api.errors import ApiError, Conflict
from handles import registry
from handles.models import Job
from handles.sync import job_run_sync
from messaging.models import Channel, Chat, Message, MessageEdit, Reaction
from messaging.services import S, least_busy_handle, message_send, participants_key
from webhooks.services import event_publish

UNSEND_WINDOW = timedelta(minutes=2)
EDITABLE_CHANNELS = (Channel.IMESSAGE, Channel.WHATSAPP)
DELIVERED = (S.DELIVERED, S.READ, S.RECEIVED)


def _check_handle_still_yours(handle: Any, account_id: str) -> None:
    """An operator may have moved the handle to another account: its device is not yours."""
    if handle.account_id != account_id:
        raise ApiError("invalid_from_handle", "This handle is no longer assigned to your account.")


def _chat_payload(chat: Chat) -> dict[str, Any]:
    from messaging.api.serializers import ChatOutput

    return dict(ChatOutput(chat).data)


def _chat_updated(chat: Chat, change: str) -> None:
    event_publish(
        account=chat.account_id, type="chat.updated", data={**_chat_payload(chat), "change": change}
    )


# --- edit ------------------------------------------------------------------------------


def message_edit(*, message: Message, text: str) -> Message:
    if message.direction != Message.Direction.OUTBOUND:
        raise Conflict("Only messages you sent can be edited.")
    if message.channel not in EDITABLE_CHANNELS:
        raise Conflict(f"A {message.channel} message cannot be edited.")
    if message.status not in (S.SENT, S.DELIVERED, S.READ) or message.unsent_at:
        raise Conflict(f"Only a sent message can be edited; this one is {message.status}.")
    _check_handle_still_yours(message.handle, message.account_id)
    job_run_sync(
        handle=message.handle,
        kind="edit",
        payload={"message_id": message.id, "upstream_id": message.upstream_id, "text": text},
        failure_code="edit_failed",
    )
    message.refresh_from_db()
    return message


@registry.on_job_result("edit")
def _edited(job: Job) -> None:
    if job.status != Job.Status.SUCCEEDED:
        return
    message = Message.objects.select_for_update().get(pk=job.payload["message_id"])
    now = timezone.now()
    MessageEdit.objects.create(
        message=message, previous_text=message.text, text=job.payload["text"], at=now
    )
    message.text = job.payload["text"]
    message.edited_at = now
    message.save(update_fields=["text", "edited_at"])
    event_publish(account=message.account_id, type="message.edited", data=_message(message))


def _message(message: Message) -> dict[str, Any]:
    from messaging.api.serializers import MessageOutput

    return dict(MessageOutput(message).data)


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
        failure_code="reaction_failed",
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
    event_publish(
        account=message.account_id,
        type="reaction.removed" if removed else "reaction.added",
        data={
            "message_id": message.id,
            "type": type,
            "from_handle": from_handle,
            "message": _message(message),
        },
    )


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
        failure_code="unsend_failed",
    )
    message.refresh_from_db()
    return message


@registry.on_job_result("unsend")
def _unsent(job: Job) -> None:
    if job.status != Job.Status.SUCCEEDED:
        return
    message = Message.objects.select_for_update().get(pk=job.payload["message_id"])
    message.unsent_at = timezone.now()
    message.save(update_fields=["unsent_at"])
    event_publish(account=message.account_id, type="message.unsent", data=_message(message))


# --- typing and read ---------------------------------------------------------------------


def chat_typing(*, chat: Chat) -> Chat:
    _check_handle_still_yours(chat.handle, chat.account_id)
    job_run_sync(
        handle=chat.handle,
        kind="typing",
        payload={
            "chat_id": chat.id,
            "participants": chat.participants,
            "upstream_id": chat.upstream_id or None,
        },
        failure_code="typing_failed",
    )
    return chat


def chat_read(*, chat: Chat) -> Chat:
    _check_handle_still_yours(chat.handle, chat.account_id)
    job_run_sync(
        handle=chat.handle,
        kind="read",
        payload={
            "chat_id": chat.id,
            "participants": chat.participants,
            "upstream_id": chat.upstream_id or None,
        },
        failure_code="read_failed",
    )
    return chat


# --- groups ------------------------------------------------------------------------------


def _check_group(chat: Chat) -> None:
    if chat.type != Chat.Type.GROUP:
        raise ApiError("not_a_group", "This chat is a direct message, not a group.")


def _group_job(chat: Chat, kind: str, **changes: Any) -> None:
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
        failure_code="group_update_failed",
    )
    chat.refresh_from_db()


def group_create(
    *, account: Any, from_handle: str | None, participants: list[str], name: str, text: str
) -> tuple[Chat, Message | None]:
    """Create the group on the device, then (optionally) send its first message into it."""
    from handles.models import Handle

    if from_handle is not None:
        handle = Handle.objects.filter(account=account, address=from_handle).first()
        if handle is None:
            raise ApiError(
                "invalid_from_handle", fields={"from_handle": ["Not a handle of yours."]}
            )
    else:
        handle = least_busy_handle(account, "imessage")
    if "imessage" not in handle.channels:
        raise ApiError("invalid_from_handle", "Groups need a handle that sends iMessage.")
    if handle.address in participants:
        raise ApiError(
            "invalid_request",
            "A group cannot include its own handle.",
            fields={"participants": ["Includes the sending handle."]},
        )
    chat = Chat.objects.create(
        account=account,
        handle=handle,
        type=Chat.Type.GROUP,
        participants=participants,
        participants_key=participants_key(participants),
        name=name,
        channel=Channel.IMESSAGE,
    )
    try:
        _group_job(chat, "group_create", name=name)
    except ApiError:
        chat.delete()
        raise
    message = message_send(account=account, chat_id=chat.id, text=text) if text else None
    return chat, message


@registry.on_job_result("group_create")
def _group_created(job: Job) -> None:
    if job.status != Job.Status.SUCCEEDED:
        return
    chat = Chat.objects.select_for_update().get(pk=job.payload["chat_id"])
    chat.upstream_id = (job.result or {}).get("upstream_id") or ""
    chat.save(update_fields=["upstream_id"])
    _chat_updated(chat, "created")


def group_rename(*, chat: Chat, name: str) -> Chat:
    _check_group(chat)
    _group_job(chat, "group_rename", name=name)
    return chat


def group_add(*, chat: Chat, participant: str) -> Chat:
    _check_group(chat)
    if participant in chat.participants:
        return chat
    if participant == chat.handle.address:
        raise ApiError(
            "invalid_request",
            "That is this group's own handle.",
            fields={"handle": ["The group's own handle."]},
        )
    _group_job(chat, "group_add", add=participant)
    return chat


def group_remove(*, chat: Chat, participant: str) -> Chat:
    _check_group(chat)
    if participant not in chat.participants:
        raise ApiError("not_found", f"{participant} is not in this group.")
    if len(chat.participants) <= 2:
        raise Conflict("A group keeps at least 2 other participants.")
    _group_job(chat, "group_remove", remove=participant)
    return chat


def group_apply(
    *, chat: Chat, name: str | None = None, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()
) -> bool:
    """Apply a change to a group (from the device's result or from an inbound event)."""
    participants = sorted((set(chat.participants) | set(add)) - set(remove) - {chat.handle.address})
    changed = []
    if name is not None and name != chat.name:
        chat.name = name
        changed.append("name")
    if participants != sorted(chat.participants):
        chat.participants = participants
        chat.participants_key = participants_key(participants)
        changed += ["participants", "participants_key"]
    if not changed:
        return False
    chat.save(update_fields=changed)
    _chat_updated(chat, "name" if changed == ["name"] else "participants")
    return True


def _group_changed(job: Job) -> None:
    if job.status != Job.Status.SUCCEEDED:
        return
    chat = Chat.objects.select_for_update().select_related("handle").get(pk=job.payload["chat_id"])
    group_apply(
        chat=chat,
        name=job.payload.get("name"),
        add=(job.payload["add"],) if job.payload.get("add") else (),
        remove=(job.payload["remove"],) if job.payload.get("remove") else (),
    )


for _kind in ("group_rename", "group_add", "group_remove"):
    registry.on_job_result(_kind)(_group_changed)
