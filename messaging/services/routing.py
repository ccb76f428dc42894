"""Routing a send: which of the account's handles sends it, on which channel, in which chat.

The sender is the one asked for; else the handle last used with this recipient (a
conversation keeps its number); else the online handle with the shortest queue. The
channel is iMessage unless the recipient is known not to be there (or the handle has no
iMessage), with SMS fallback where allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from accounts.models import Account
from contract.errors import InvalidRequest
from handles import selectors as handle_selectors
from handles.addresses import is_email
from handles.errors import InvalidHandle
from handles.models import Channel, Handle
from messaging.errors import InvalidFromHandle
from messaging.models import Chat


@dataclass(frozen=True)
class Route:
    handle: Handle
    chat: Chat | None
    recipients: list[str]
    is_group: bool


def participants_key(participants: list[str]) -> str:
    return ",".join(sorted(participants))


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
    """The account's online handle with the shortest queue (that sends `channel_needed`)."""
    handles = [
        h
        for h in Handle.objects.filter(account=account).order_by("created_at", "id")
        if channel_needed is None or channel_needed in h.channels
    ]
    if not handles:
        raise InvalidFromHandle(
            "Your account has no sending handle for this message"
            + (f" on {channel_needed}." if channel_needed else "."),
            fields={"from_handle": ["No handle of your account can send this."]},
        )
    depth = handle_selectors.queue_depths(handles)
    last_seen = {
        device.handle_id: device.last_seen_at
        for device in handle_selectors.live_devices(handles=handles)
    }

    def busyness(handle: Handle) -> tuple[int, int, int]:
        online = handle_selectors.is_online(last_seen.get(handle.pk))
        return (0 if online else 1, depth.get(handle.pk, 0), handle.pk)

    return min(handles, key=busyness)


def account_handle(account: Account, address: str) -> Handle:
    """The account's handle at `address`; 400 `invalid_from_handle` when it is not theirs."""
    handle = Handle.objects.filter(account=account, address=address).first()
    if handle is None:
        raise InvalidFromHandle(fields={"from_handle": ["Not a handle of your account."]})
    return handle


def route(
    *,
    account: Account,
    to: str | list[str] | None,
    chat_id: str | None,
    from_handle: str | None,
    channel: str,
) -> Route:
    """Who sends to whom: from `chat_id`'s chat, or to `to` from the chosen handle."""
    if chat_id is not None:
        chat = Chat.objects.filter(account=account, pk=chat_id).select_related("handle").first()
        if chat is None:
            raise InvalidRequest("chat_id: no such chat.", fields={"chat_id": ["No such chat."]})
        if from_handle is not None and from_handle != chat.handle.address:
            raise InvalidFromHandle(
                "from_handle is not the handle of this chat.",
                fields={"from_handle": ["A chat always sends from its own handle."]},
            )
        if chat.handle.account_id != account.pk:
            raise InvalidFromHandle("This chat's handle is no longer yours.")
        return Route(chat.handle, chat, list(chat.participants), chat.type == Chat.Type.GROUP)

    recipients = [to] if isinstance(to, str) else list(to or [])
    is_group = isinstance(to, list)
    needed = None if channel == "auto" else channel
    if from_handle is not None:
        handle = account_handle(account, from_handle)
    else:
        sticky = None if is_group else _sticky_chat(account, recipients[0])
        if sticky is not None:
            # The conversation keeps its number, and its chat is already at hand.
            return Route(sticky.handle, sticky, recipients, is_group=False)
        handle = least_busy_handle(account, needed)
    if handle.address in recipients:
        raise InvalidRequest(
            "A handle cannot message itself.", fields={"to": ["Includes the sending handle."]}
        )
    return Route(handle, None, recipients, is_group)


def resolve_channel(
    *, account: Account, route: Route, requested: str, fallback: bool | None
) -> tuple[str, bool]:
    """The channel to try first and whether SMS fallback is allowed."""
    handle = route.handle
    has_email = any(is_email(r) for r in route.recipients)
    if requested == Channel.WHATSAPP:
        device = handle_selectors.live_device(handle=handle)
        if (
            Channel.WHATSAPP not in handle.channels
            or device is None
            or not device.whatsapp_connected
        ):
            raise InvalidFromHandle(
                "from_handle has no connected WhatsApp session.",
                fields={"from_handle": ["No connected WhatsApp session."]},
            )
        return Channel.WHATSAPP, False
    if requested in (Channel.IMESSAGE, Channel.SMS) and requested not in handle.channels:
        raise InvalidFromHandle(
            f"from_handle cannot send {requested}.",
            fields={"from_handle": [f"This handle does not send {requested}."]},
        )
    if requested == Channel.SMS:
        if has_email:
            raise InvalidHandle(
                "An email address can only receive iMessage.",
                fields={"to": ["Email recipients need iMessage."]},
            )
        return Channel.SMS, False
    can_fall_back = Channel.SMS in handle.channels and not has_email and not route.is_group
    if requested == Channel.IMESSAGE:
        return Channel.IMESSAGE, bool(fallback) and can_fall_back
    # auto: iMessage unless we know the recipient is not there (or the handle has no iMessage).
    allow_fallback = (True if fallback is None else fallback) and can_fall_back
    if Channel.IMESSAGE not in handle.channels:
        if not can_fall_back:
            raise InvalidFromHandle(
                "from_handle cannot send to this recipient.",
                fields={"from_handle": ["No channel of this handle reaches the recipient."]},
            )
        return Channel.SMS, False
    if not route.is_group and not has_email:
        capability = handle_selectors.capability_get(account=account, address=route.recipients[0])
        if capability is not None and capability.imessage is False and allow_fallback:
            return Channel.SMS, False
    return Channel.IMESSAGE, allow_fallback


def chat_for(account: Account, route: Route, channel: str) -> Chat:
    """The route's chat: the one it came with, or the chat of exactly these people (made
    when new; a direct message is unique per handle and person, even under a race)."""
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
