"""Accepting a message for sending: committed before the API answers 202, dispatched after.

Nothing is written unless everything is: the route, the channel, the chat, the attachments
and the reply target are decided in one transaction, and the dispatcher is woken only once
it commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Account
from contract.errors import InvalidRequest
from handles.models import Channel
from messaging import events
from messaging.models import Chat, Message, MessageStatusEvent
from messaging.services.attachments import attachments_claim
from messaging.services.lifecycle import dispatch_soon
from messaging.services.routing import chat_for, resolve_channel, route


def message_send(
    *,
    account: Account,
    to: str | list[str] | None = None,
    chat_id: str | None = None,
    from_handle: str | None = None,
    text: str = "",
    attachments: list[str] | None = None,
    channel: str = "auto",
    fallback: bool | None = None,
    effect: str = "",
    reply_to: str | None = None,
    send_at: datetime | None = None,
    metadata: dict[str, str] | None = None,
) -> Message:
    """Accept a message for sending: committed before the caller answers 202, dispatched after.

    Inputs arrive validated in form (handles normalized, sizes checked); this decides what
    needs the database: the route, the channel, the chat, attachments and reply target.
    """
    now = timezone.now()
    with transaction.atomic():
        chosen = route(
            account=account, to=to, chat_id=chat_id, from_handle=from_handle, channel=channel
        )
        first_channel, allow_fallback = resolve_channel(
            account=account, route=chosen, requested=channel, fallback=fallback
        )
        if effect and first_channel != Channel.IMESSAGE:
            raise InvalidRequest(
                "effect needs iMessage.", fields={"effect": ["Effects are an iMessage feature."]}
            )
        reply_target = None
        if reply_to is not None:
            reply_target = Message.objects.filter(account=account, pk=reply_to).first()
            if reply_target is None:
                raise InvalidRequest(
                    "reply_to: no such message.", fields={"reply_to": ["No such message."]}
                )
        chat = chat_for(account, chosen, first_channel)
        scheduled = send_at is not None and send_at > now
        message = Message.objects.create(
            account=account,
            chat=chat,
            handle=chosen.handle,
            direction=Message.Direction.OUTBOUND,
            from_handle=chosen.handle.address,
            to=sorted(chosen.recipients) if chosen.is_group else chosen.recipients[0],
            channel=first_channel,
            requested_channel=channel,
            fallback=allow_fallback,
            status=Message.Status.SCHEDULED if scheduled else Message.Status.QUEUED,
            text=text,
            effect=effect,
            reply_to=reply_target,
            metadata=metadata or {},
            send_at=send_at,
            queued_at=None if scheduled else now,
            created_at=now,
        )
        if attachments:
            attachments_claim(account=account, message=message, ids=attachments)
        Chat.objects.filter(pk=chat.pk).update(last_message_at=now)
        MessageStatusEvent.objects.create(
            message=message, status=message.status, at=now, source="api"
        )
        if not scheduled:
            events.message_status_changed(message)
            dispatch_soon(message.handle_id)
    return message


def message_send_once(*, account: Account, key: str, **fields: Any) -> Message:
    """`message_send` at most once per dashboard form (`key`, a token the form carries): a
    double click or a resubmitted page sends one message."""
    done = account_selectors.form_submission_result(account=account, key=key)
    if done is not None:
        return Message.objects.get(account=account, pk=done)
    try:
        with transaction.atomic():
            message = message_send(account=account, **fields)
            account_services.form_submission_record(account=account, key=key, result=message.id)
    except IntegrityError:  # the same form, sent at the same moment, won
        done = account_selectors.form_submission_result(account=account, key=key)
        return Message.objects.get(account=account, pk=done)
    return message
