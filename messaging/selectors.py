"""Reads of chats and messages, always scoped to one account (or one device's handle)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from accounts.models import Account
from accounts.tenancy import get_owned
from contract.errors import NotFound
from handles.models import Handle
from messaging.models import Attachment, Chat, Message, MessageStatusEvent


def message_list(*, account: Account, filters: dict[str, Any]) -> QuerySet[Message]:
    """The account's messages matching the list filters of GET /v1/messages."""
    messages = Message.objects.filter(account=account).prefetch_related("reactions", "attachments")
    for name in ("status", "direction", "channel", "from_handle"):
        if filters.get(name):
            messages = messages.filter(**{name: filters[name]})
    if filters.get("chat_id"):
        messages = messages.filter(chat_id=filters["chat_id"])
    if filters.get("to"):
        messages = messages.filter(to=filters["to"])
    # Times are shown to the millisecond, so filters compare at that resolution: a message
    # shown as created at T is not "created after T".
    created_after: datetime | None = filters.get("created_after")
    if created_after is not None:
        next_ms = created_after.replace(microsecond=created_after.microsecond // 1000 * 1000)
        messages = messages.filter(created_at__gte=next_ms + timedelta(milliseconds=1))
    created_before: datetime | None = filters.get("created_before")
    if created_before is not None:
        messages = messages.filter(created_at__lt=created_before)
    return messages


def message_get(*, account: Account, message_id: str) -> Message:
    history = Prefetch("history", queryset=MessageStatusEvent.objects.order_by("at", "id"))
    return get_owned(
        Message.objects.select_related("handle").prefetch_related(
            history, "reactions", "edits", "attachments"
        ),
        account=account,
        pk=message_id,
    )


def attachment_get(*, account: Account, attachment_id: str) -> Attachment:
    return get_owned(Attachment.objects.all(), account=account, pk=attachment_id)


def attachment_for_device(*, handle: Handle, attachment_id: str) -> Attachment:
    """An attachment of a message of this handle (and its current account), else not_found."""
    attachment = Attachment.objects.filter(
        pk=attachment_id, message__handle=handle, account_id=handle.account_id
    ).first()
    if attachment is None or handle.account_id is None:
        raise NotFound()
    return attachment


def chat_list(*, account: Account) -> QuerySet[Chat]:
    return Chat.objects.filter(account=account).select_related("handle")


def chat_get(*, account: Account, chat_id: str) -> Chat:
    return get_owned(Chat.objects.select_related("handle"), account=account, pk=chat_id)


def queued_counts(handles: Iterable[Handle]) -> dict[int, int]:
    """Messages waiting in each handle's pacing queue, before they become device jobs.

    Registered with `handles.registry`: `handles.selectors.queue_depths` adds these to the
    device jobs it counts, and that sum is a handle's queue depth everywhere.
    """
    return dict(
        Message.objects.filter(handle__in=list(handles), status=Message.Status.QUEUED)
        .values_list("handle_id")
        .annotate(n=Count("id"))
        .values_list("handle_id", "n")
    )
