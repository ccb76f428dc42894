"""Accepting a message for sending: committed before the API answers 202, dispatched after.

Nothing is written unless everything is: the route, the channel, the chat, the attachments
and the reply target are decided in one transaction, and the dispatcher is woken only once
it commits. On PostgreSQL the writes are few: the chat found or made and marked as used in
one upsert (`routing.chat_for`), the message, its first history row and its outbox event in
one statement (`webhooks.services.Along`; the event first, if attachments are claimed in
between); the chat's `last_message_at`, when the chat was already at hand, is
marked last (`contract.transactions.before_commit`: every send into the chat queues for that
row's lock, so it is held through the commit only), or with the message when the caller's
transaction does not allow it. The message is rendered once, for its `message.queued`
event and for the caller (`message_accepted_data`); a message made here has no reactions
yet, so none are read.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Account
from contract import raw
from contract.errors import InvalidRequest
from contract.transactions import atomic_step, before_commit
from handles.models import Channel
from messaging import events
from messaging.models import Attachment, Chat, Message, MessageStatusEvent, Reaction
from messaging.services import new_contacts, opt_outs
from messaging.services.attachments import attachments_claim
from messaging.services.lifecycle import dispatch_soon, observation, observe_on_commit
from messaging.services.routing import chat_for, resolve_channel, route
from webhooks.services import Along


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
    opt_out_confirmation: bool = False,
) -> Message:
    """Accept a message for sending: committed before the caller answers 202, dispatched after.

    Inputs arrive validated in form (handles normalized, sizes checked); this decides what
    needs the database: the route, the channel, the chat, attachments and reply target.
    A recipient who opted out is a 409 before anything is written (`opt_outs.send_check`),
    except for `opt_out_confirmation`, the confirmation of their opt-out (`keywords`).
    """
    now = timezone.now()
    # No savepoint when the caller's transaction is all or nothing (the API's idempotent
    # writes): an error here rolls all of it back.
    with atomic_step():
        chosen = route(
            account=account, to=to, chat_id=chat_id, from_handle=from_handle, channel=channel
        )
        if not opt_out_confirmation:
            opt_outs.send_check(
                account=account, recipients=chosen.recipients, is_group=chosen.is_group
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
        # New recipients take a slot of the handle's budget, or the message is held.
        admission = new_contacts.admit(account=account, route=chosen, now=now)
        chat = chat_for(account, chosen, first_channel, used_at=now)
        scheduled = (send_at is not None and send_at > now) or bool(admission.reason)
        message = Message(
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
            status_reason=admission.reason,
            created_at=now,
        )
        message.new_contacts_remaining = admission.remaining  # type: ignore[attr-defined]
        touch_chat = chat.last_message_at != now
        if touch_chat and connection.vendor == "postgresql":
            # Every send into this chat waits for this row's lock: taken as late as possible
            # when the caller's transaction allows (with its stored response, say), else here.
            touch_chat = not before_commit(_touch_sql(), [now, chat.pk])
        # Known before any read: a new message has no reactions (nor attachments but those
        # claimed below); `message_data` then reads nothing.
        known: dict[str, QuerySet[Any]] = {"reactions": _known_empty(Reaction)}
        if not attachments:
            known["attachments"] = _known_empty(Attachment)
        message._prefetched_objects_cache = known  # type: ignore[attr-defined]
        # Its event is rendered from the message in hand, so on PostgreSQL the message goes
        # in with its event, one statement (unless attachments are claimed in between), and
        # nothing here reads either again: in the caller's all-or-nothing transaction that
        # statement rides with its last one (the stored response of an Idempotency-Key).
        event = None if scheduled or attachments else events.message_status_event(message)
        if event is not None and connection.vendor == "postgresql":
            along = _insert_along(message, now, touch_chat)
            events.events_publish([event], along=along, late=True)
            raw.inserted(message)
        else:
            _message_insert(message, at=now, touch_chat=touch_chat)
            if attachments:
                attachments_claim(account=account, message=message, ids=attachments)
                event = None if scheduled else events.message_status_event(message)
            if event is not None:
                events.events_publish([event])
        if event is not None:
            message.accepted_data = event["data"]  # type: ignore[attr-defined]
        observe_on_commit([observation(message, message.status, now)])
        if not scheduled:
            dispatch_soon(message.handle_id)
    return message


def _known_empty(model: Any) -> QuerySet[Any]:
    """An empty, already evaluated queryset: a prefetched relation known to hold nothing."""
    empty = model.objects.none()
    empty._result_cache = []
    empty._prefetch_done = True
    return empty


def message_accepted_data(message: Message) -> dict[str, Any]:
    """What the caller of `message_send` answers: the message as its `message.queued` event
    carries it (rendered once), or rendered now for a scheduled one."""
    data = message.__dict__.pop("accepted_data", None)
    return data if data is not None else events.message_data(message)


@cache
def _touch_sql() -> str:
    """Mark the chat used at a moment; never back (two sends commit in either order)."""
    return (
        f"UPDATE {raw.table(Chat)} SET last_message_at = "  # noqa: S608
        "GREATEST(last_message_at, %s) WHERE id = %s"
    )


@cache
def _insert_ctes(*, touch_chat: bool) -> tuple[str, ...]:
    """The message, (`touch_chat`) its chat's `last_message_at` and its first history row,
    as PostgreSQL data-modifying CTEs, in the order of `_insert_params`."""
    placeholders = ", ".join(["%s"] * len(Message._meta.concrete_fields))
    sent = (
        f"sent AS (INSERT INTO {raw.table(Message)} ({raw.insert_columns(Message)}) "  # noqa: S608
        f"VALUES ({placeholders}) RETURNING id)"
    )
    touched = (f"touched AS ({_touch_sql()})",) if touch_chat else ()
    history = (
        f"history AS (INSERT INTO {raw.table(MessageStatusEvent)} "  # noqa: S608
        "(message_id, status, at, source, detail, applied) "
        "SELECT id, %s, %s, 'api', '', true FROM sent)"
    )
    return (sent, *touched, history)


@cache
def _insert_sql(*, touch_chat: bool) -> str:
    """The same CTEs as one statement of their own."""
    return f"WITH {', '.join(_insert_ctes(touch_chat=touch_chat))} SELECT 1"


def _insert_params(message: Message, *, at: datetime, touch_chat: bool) -> list[Any]:
    params = raw.insert_params(message)
    if touch_chat:
        params += [at, message.chat_id]
    return [*params, message.status, at]


def _insert_along(message: Message, at: datetime, touch_chat: bool) -> Along:
    """The message's writes (`_insert_ctes`), to go with its event's statement."""
    return Along(
        ctes=_insert_ctes(touch_chat=touch_chat),
        params=_insert_params(message, at=at, touch_chat=touch_chat),
    )


def _message_insert(message: Message, *, at: datetime, touch_chat: bool) -> None:
    """Write the new message and its first history row; mark its chat used at `at` too when
    `touch_chat` (one statement on PostgreSQL, three elsewhere)."""
    if connection.vendor != "postgresql":
        message.save(force_insert=True)
        if touch_chat:
            Chat.objects.filter(pk=message.chat_id).update(last_message_at=at)
        MessageStatusEvent.objects.create(
            message=message, status=message.status, at=at, source="api"
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_sql(touch_chat=touch_chat),
            _insert_params(message, at=at, touch_chat=touch_chat),
        )
    raw.inserted(message)


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
