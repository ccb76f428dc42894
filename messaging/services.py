"""Writes of messaging: sending, the status lifecycle, retry and cancel, inbound messages.

Every status change goes through `message_transition`, which records it in the history,
publishes its event on the outbox in the same transaction, and never lets a status go
backwards (a late receipt is recorded, not applied).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Account
from config.api.errors import ApiError, Conflict
from handles import selectors as handle_selectors
from handles import services as handle_services
from handles.addresses import is_email
from handles.models import Handle
from messaging.models import Channel, Chat, Message, MessageStatusEvent
from webhooks.services import event_publish

S = Message.Status
# Outbound statuses only move forward along this order (failed is reachable from queued,
# sending and sent; retry is the one explicit way back, from failed to queued).
RANK: dict[str, int] = {
    S.SCHEDULED: 0,
    S.QUEUED: 1,
    S.SENDING: 2,
    S.SENT: 3,
    S.DELIVERED: 4,
    S.READ: 5,
}
EVENT_OF: dict[str, str] = {
    S.QUEUED: "message.queued",
    S.SENT: "message.sent",
    S.DELIVERED: "message.delivered",
    S.READ: "message.read",
    S.FAILED: "message.failed",
    S.RECEIVED: "message.received",
}
TIME_FIELD: dict[str, str] = {
    S.SENT: "sent_at",
    S.DELIVERED: "delivered_at",
    S.READ: "read_at",
    S.FAILED: "failed_at",
}


def message_ttl() -> timedelta:
    return timedelta(hours=int(settings.SWITCHBOARD_MESSAGE_TTL_HOURS))


def participants_key(participants: list[str]) -> str:
    return ",".join(sorted(participants))


# --- transitions -------------------------------------------------------------------------


def _publish(message: Message, status: str) -> None:
    from messaging.api.serializers import MessageOutput

    event_type = EVENT_OF.get(status)
    if event_type is not None:
        event_publish(
            account=message.account_id, type=event_type, data=dict(MessageOutput(message).data)
        )


def message_transition(
    message: Message,
    status: str,
    *,
    source: str,
    at: datetime | None = None,
    detail: str = "",
    error: dict[str, str] | None = None,
    force: bool = False,
) -> bool:
    """Move `message` to `status` if that is forward; record it either way. True if applied.

    `force` is for the two deliberate moves back: retry (failed → queued) and SMS fallback
    (sending → queued).
    """
    at = at or timezone.now()
    current = message.status
    if force:
        applied = True
    elif status == S.FAILED:
        applied = current in (S.SCHEDULED, S.QUEUED, S.SENDING, S.SENT)
    else:
        applied = current in RANK and status in RANK and RANK[status] > RANK[current]
    fields: list[str] = []
    time_field = TIME_FIELD.get(status)
    if time_field and getattr(message, time_field) is None and (applied or status != S.FAILED):
        # A late receipt still tells us when it happened.
        setattr(message, time_field, at)
        fields.append(time_field)
    if applied:
        message.status = status
        fields.append("status")
        if error is not None:
            message.error_code = error.get("code", "")[:64]
            message.error_message = error.get("message", "")[:1000]
            fields += ["error_code", "error_message"]
    if fields:
        message.save(update_fields=fields)
    MessageStatusEvent.objects.create(
        message=message, status=status, at=at, source=source, detail=detail[:500], applied=applied
    )
    if applied:
        _publish(message, status)
    return applied


# --- sending -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    handle: Handle
    chat: Chat | None
    recipients: list[str]
    is_group: bool


def _account_handles(account: Account) -> list[Handle]:
    return list(Handle.objects.filter(account=account).order_by("created_at", "id"))


def _sticky_chat(account: Account, recipient: str) -> Chat | None:
    """The DM last used with this recipient, if its handle is still the account's."""
    chat = (
        Chat.objects.filter(account=account, type=Chat.Type.DM, participants_key=recipient)
        .select_related("handle")
        .order_by("-last_message_at")
        .first()
    )
    if chat is not None and chat.handle.account_id == account.pk:
        return chat
    return None


def least_busy_handle(account: Account, channel_needed: str | None) -> Handle:
    handles = [
        h
        for h in _account_handles(account)
        if channel_needed is None or channel_needed in h.channels
    ]
    if not handles:
        raise ApiError(
            "invalid_from_handle",
            "Your account has no sending handle for this message"
            + (f" on {channel_needed}." if channel_needed else "."),
            fields={"from_handle": ["No handle of your account can send this."]},
        )
    depth = dict(
        Message.objects.filter(handle__in=handles, status__in=[S.QUEUED, S.SENDING])
        .values_list("handle_id")
        .annotate(n=Count("id"))
        .values_list("handle_id", "n")
    )
    last_seen = {
        device.handle_id: device.last_seen_at
        for device in handle_selectors.live_devices(handles=handles)
    }

    def busyness(handle: Handle) -> tuple[int, int, int]:
        online = handle_selectors.is_online(last_seen.get(handle.pk))
        return (0 if online else 1, depth.get(handle.pk, 0), handle.pk)

    return min(handles, key=busyness)


def _route(
    *,
    account: Account,
    to: str | list[str] | None,
    chat_id: str | None,
    from_handle: str | None,
    channel: str,
) -> Route:
    if chat_id is not None:
        chat = Chat.objects.filter(account=account, pk=chat_id).select_related("handle").first()
        if chat is None:
            raise ApiError(
                "invalid_request", "chat_id: no such chat.", fields={"chat_id": ["No such chat."]}
            )
        if from_handle is not None and from_handle != chat.handle.address:
            raise ApiError(
                "invalid_from_handle",
                "from_handle is not the handle of this chat.",
                fields={"from_handle": ["A chat always sends from its own handle."]},
            )
        if chat.handle.account_id != account.pk:
            raise ApiError("invalid_from_handle", "This chat's handle is no longer yours.")
        return Route(chat.handle, chat, list(chat.participants), chat.type == Chat.Type.GROUP)

    recipients = [to] if isinstance(to, str) else list(to or [])
    is_group = isinstance(to, list)
    needed = None if channel == "auto" else channel
    if from_handle is not None:
        handle = Handle.objects.filter(account=account, address=from_handle).first()
        if handle is None:
            raise ApiError(
                "invalid_from_handle", fields={"from_handle": ["Not a handle of your account."]}
            )
    else:
        sticky = None if is_group else _sticky_chat(account, recipients[0])
        if sticky is not None:
            # The conversation keeps its number, and its chat is already at hand.
            return Route(sticky.handle, sticky, recipients, is_group=False)
        handle = least_busy_handle(account, needed)
    if handle.address in recipients:
        raise ApiError(
            "invalid_request",
            "A handle cannot message itself.",
            fields={"to": ["Includes the sending handle."]},
        )
    return Route(handle, None, recipients, is_group)


def _resolve_channel(
    *, account: Account, route: Route, requested: str, fallback: bool | None
) -> tuple[str, bool]:
    """The channel to try first and whether SMS fallback is allowed."""
    handle = route.handle
    has_email = any(is_email(r) for r in route.recipients)
    if requested == Channel.WHATSAPP:
        device = handle_selectors.live_device(handle=handle)
        if "whatsapp" not in handle.channels or device is None or not device.whatsapp_connected:
            raise ApiError(
                "invalid_from_handle",
                "from_handle has no connected WhatsApp session.",
                fields={"from_handle": ["No connected WhatsApp session."]},
            )
        return Channel.WHATSAPP, False
    if requested in (Channel.IMESSAGE, Channel.SMS) and requested not in handle.channels:
        raise ApiError(
            "invalid_from_handle",
            f"from_handle cannot send {requested}.",
            fields={"from_handle": [f"This handle does not send {requested}."]},
        )
    if requested == Channel.SMS:
        if has_email:
            raise ApiError(
                "invalid_handle",
                "An email address can only receive iMessage.",
                fields={"to": ["Email recipients need iMessage."]},
            )
        return Channel.SMS, False
    can_fall_back = "sms" in handle.channels and not has_email and not route.is_group
    if requested == Channel.IMESSAGE:
        return Channel.IMESSAGE, bool(fallback) and can_fall_back
    # auto: iMessage unless we know the recipient is not there (or the handle has no iMessage).
    allow_fallback = (True if fallback is None else fallback) and can_fall_back
    if "imessage" not in handle.channels:
        if not can_fall_back:
            raise ApiError(
                "invalid_from_handle",
                "from_handle cannot send to this recipient.",
                fields={"from_handle": ["No channel of this handle reaches the recipient."]},
            )
        return Channel.SMS, False
    if not route.is_group and not has_email:
        capability = handle_selectors.capability_get(account=account, address=route.recipients[0])
        if capability is not None and capability.imessage is False and allow_fallback:
            return Channel.SMS, False
    return Channel.IMESSAGE, allow_fallback


def _chat_for(account: Account, route: Route, channel: str) -> Chat:
    if route.chat is not None:
        return route.chat
    key = participants_key(route.recipients)
    if route.is_group:
        chat = (
            Chat.objects.filter(
                account=account, handle=route.handle, type=Chat.Type.GROUP, participants_key=key
            )
            .order_by("-created_at")
            .first()
        )
        if chat is None:
            chat = Chat.objects.create(
                account=account,
                handle=route.handle,
                type=Chat.Type.GROUP,
                participants=sorted(route.recipients),
                participants_key=key,
                channel=channel,
            )
        return chat
    try:
        with transaction.atomic():
            chat, _ = Chat.objects.get_or_create(
                account=account,
                handle=route.handle,
                type=Chat.Type.DM,
                participants_key=key,
                defaults={"participants": route.recipients, "channel": channel},
            )
    except IntegrityError:
        chat = Chat.objects.get(
            account=account, handle=route.handle, type=Chat.Type.DM, participants_key=key
        )
    return chat


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
        route = _route(
            account=account, to=to, chat_id=chat_id, from_handle=from_handle, channel=channel
        )
        first_channel, allow_fallback = _resolve_channel(
            account=account, route=route, requested=channel, fallback=fallback
        )
        if effect and first_channel != Channel.IMESSAGE:
            raise ApiError(
                "invalid_request",
                "effect needs iMessage.",
                fields={"effect": ["Effects are an iMessage feature."]},
            )
        reply_target = None
        if reply_to is not None:
            reply_target = Message.objects.filter(account=account, pk=reply_to).first()
            if reply_target is None:
                raise ApiError(
                    "invalid_request",
                    "reply_to: no such message.",
                    fields={"reply_to": ["No such message."]},
                )
        chat = _chat_for(account, route, first_channel)
        scheduled = send_at is not None and send_at > now
        message = Message.objects.create(
            account=account,
            chat=chat,
            handle=route.handle,
            direction=Message.Direction.OUTBOUND,
            from_handle=route.handle.address,
            to=sorted(route.recipients) if route.is_group else route.recipients[0],
            channel=first_channel,
            requested_channel=channel,
            fallback=allow_fallback,
            status=S.SCHEDULED if scheduled else S.QUEUED,
            text=text,
            effect=effect,
            reply_to=reply_target,
            metadata=metadata or {},
            send_at=send_at,
            queued_at=None if scheduled else now,
            created_at=now,
        )
        if attachments:
            from messaging.attachments import attachments_claim

            message.attachments = attachments_claim(
                account=account, message=message, ids=attachments
            )
            message.save(update_fields=["attachments"])
        Chat.objects.filter(pk=chat.pk).update(last_message_at=now)
        MessageStatusEvent.objects.create(
            message=message, status=message.status, at=now, source="api"
        )
        if not scheduled:
            _publish(message, S.QUEUED)
            dispatch_after_commit(message.handle_id)
    return message


def dispatch_after_commit(handle_id: int) -> None:
    """Run the handle's dispatcher once this transaction commits (never for rolled-back work)."""
    from messaging.tasks import handle_dispatch

    transaction.on_commit(lambda: handle_dispatch.delay(handle_id))


# --- retry, cancel -----------------------------------------------------------------------


def _locked(message: Message) -> Message:
    return Message.objects.select_for_update().select_related("handle").get(pk=message.pk)


@transaction.atomic
def message_retry(*, message: Message) -> Message:
    """Send a failed message again: same id, back in the queue, attempts + 1."""
    message = _locked(message)
    if message.status != S.FAILED or message.direction != Message.Direction.OUTBOUND:
        raise Conflict(
            f"Only a failed outbound message can be retried; this one is {message.status}."
        )
    if message.handle.account_id != message.account_id:
        raise ApiError(
            "invalid_from_handle",
            "This message's handle is no longer assigned to your account; send it anew.",
        )
    # A new attempt: the last one's times and network id stay in the history only.
    message.attempts += 1
    message.error_code = ""
    message.error_message = ""
    message.queued_at = timezone.now()
    message.job = None
    message.upstream_id = None
    for time_field in ("sent_at", "delivered_at", "read_at", "failed_at"):
        setattr(message, time_field, None)
    message.save(
        update_fields=[
            "attempts",
            "error_code",
            "error_message",
            "queued_at",
            "job",
            "upstream_id",
            "sent_at",
            "delivered_at",
            "read_at",
            "failed_at",
        ]
    )
    message_transition(message, S.QUEUED, source="api", detail="retry", force=True)
    dispatch_after_commit(message.handle_id)
    return message


@transaction.atomic
def message_cancel(*, message: Message) -> Message:
    """Stop a scheduled or queued message: it fails with `canceled` and never goes out."""
    message = _locked(message)
    if message.status not in (S.SCHEDULED, S.QUEUED):
        raise Conflict(
            f"Only a scheduled or queued message can be canceled; this one is {message.status}."
        )
    message_transition(
        message,
        S.FAILED,
        source="api",
        detail="canceled",
        error={"code": "canceled", "message": "Canceled before it was sent."},
    )
    return message


# --- inbound -----------------------------------------------------------------------------


def inbound_message_record(
    *,
    handle: Handle,
    upstream_id: str,
    sender: str,
    participants: list[str],
    chat_id: str | None,
    channel: str,
    text: str,
    at: datetime,
    attachments: list[str] | None = None,
) -> Message | None:
    """Record a message a device received, in its chat (created when new); once per upstream id."""
    if handle.account_id is None:
        return None
    existing = Message.objects.filter(handle=handle, upstream_id=upstream_id).first()
    if existing is not None:
        return existing
    account = handle.account
    assert account is not None
    others = sorted({p for p in participants if p != handle.address} | {sender})
    chat = None
    if chat_id:
        chat = Chat.objects.filter(account=account, handle=handle, pk=chat_id).first()
    if chat is None:
        route = Route(handle=handle, chat=None, recipients=others, is_group=len(others) > 1)
        chat = _chat_for(account, route, channel)
    message = Message.objects.create(
        account=account,
        chat=chat,
        handle=handle,
        direction=Message.Direction.INBOUND,
        from_handle=sender,
        to=handle.address,
        channel=channel,
        requested_channel=channel,
        status=S.RECEIVED,
        text=text,
        upstream_id=upstream_id,
        created_at=at,
    )
    if attachments:
        from messaging.attachments import attachments_claim

        message.attachments = attachments_claim(account=account, message=message, ids=attachments)
        message.save(update_fields=["attachments"])
    Chat.objects.filter(pk=chat.pk).update(last_message_at=at)
    MessageStatusEvent.objects.create(message=message, status=S.RECEIVED, at=at, source="device")
    _publish(message, S.RECEIVED)
    return message


def recipient_not_on_imessage(*, message: Message) -> None:
    """Remember it, so `auto` goes straight to SMS next time."""
    if isinstance(message.to, str) and not is_email(message.to):
        handle_services.capability_set(
            account_id=message.account_id, address=message.to, imessage=False
        )


def queue_depth_by_handle(handles: list[Handle]) -> dict[int, int]:
    """Messages waiting in the pacing queue (before they become device jobs)."""
    return dict(
        Message.objects.filter(handle__in=handles, status=S.QUEUED)
        .values_list("handle_id")
        .annotate(n=Count("id"))
        .values_list("handle_id", "n")
    )
