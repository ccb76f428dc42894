"""Group chats, changed on the device, synchronously: create, rename, add and remove people.

As with the other device actions (`messaging.services.actions`), the device runs the change
and its job-result handler applies it, in the transaction that records the device's answer;
a change made by someone else arrives as a `chat.updated` device event and is applied by
`group_apply` too.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Account
from contract.errors import Conflict, DomainError, InvalidRequest, NotFound
from handles import registry
from handles.models import Channel, Handle, Job
from messaging import events
from messaging.errors import GroupUpdateFailed, InvalidFromHandle, NotAGroup
from messaging.models import Chat, Message
from messaging.services.actions import run_chat_job
from messaging.services.routing import least_busy_handle, participants_key
from messaging.services.sending import message_send


def _check_group(chat: Chat) -> None:
    if chat.type != Chat.Type.GROUP:
        raise NotAGroup("This chat is a direct message, not a group.")


def _group_job(chat: Chat, kind: str, **changes: Any) -> None:
    run_chat_job(chat, kind, GroupUpdateFailed, **changes)
    chat.refresh_from_db()


def group_create(
    *, account: Account, from_handle: str | None, participants: list[str], name: str, text: str
) -> tuple[Chat, Message | None]:
    """Create the group on the device, then (optionally) send its first message into it."""
    if from_handle is not None:
        handle = Handle.objects.filter(account=account, address=from_handle).first()
        if handle is None:
            raise InvalidFromHandle(fields={"from_handle": ["Not a handle of yours."]})
    else:
        handle = least_busy_handle(account, Channel.IMESSAGE)
    if Channel.IMESSAGE not in handle.channels:
        raise InvalidFromHandle("Groups need a handle that sends iMessage.")
    if handle.address in participants:
        raise InvalidRequest(
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
    except DomainError:
        chat.delete()
        raise
    message = message_send(account=account, chat_id=chat.id, text=text) if text else None
    return chat, message


@registry.on_job_result("group_create")
def _group_created(job: Job) -> None:
    if job.status != Job.Status.SUCCEEDED:
        return
    chat = Chat.objects.select_for_update(no_key=True).get(pk=job.payload["chat_id"])
    chat.upstream_id = (job.result or {}).get("upstream_id") or ""
    chat.save(update_fields=["upstream_id"])
    events.chat_updated(chat, change="created")


def group_rename(*, chat: Chat, name: str) -> Chat:
    _check_group(chat)
    _group_job(chat, "group_rename", name=name)
    return chat


def group_add(*, chat: Chat, participant: str) -> Chat:
    _check_group(chat)
    if participant in chat.participants:
        return chat
    if participant == chat.handle.address:
        raise InvalidRequest(
            "That is this group's own handle.",
            fields={"handle": ["The group's own handle."]},
        )
    _group_job(chat, "group_add", add=participant)
    return chat


def group_remove(*, chat: Chat, participant: str) -> Chat:
    _check_group(chat)
    if participant not in chat.participants:
        raise NotFound(f"{participant} is not in this group.")
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
    events.chat_updated(chat, change="name" if changed == ["name"] else "participants")
    return True


def _group_changed(job: Job) -> None:
    if job.status != Job.Status.SUCCEEDED:
        return
    chat = (
        Chat.objects.select_for_update(of=("self",), no_key=True)
        .select_related("handle")
        .get(pk=job.payload["chat_id"])
    )
    group_apply(
        chat=chat,
        name=job.payload.get("name"),
        add=(job.payload["add"],) if job.payload.get("add") else (),
        remove=(job.payload["remove"],) if job.payload.get("remove") else (),
    )


for _kind in ("group_rename", "group_add", "group_remove"):
    registry.on_job_result(_kind)(_group_changed)
