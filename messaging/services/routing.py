"""Routing a send: which of the account's handles sends it, on which channel, in which chat.

The sender is the one asked for; else the handle last used with this recipient (a
conversation keeps its number); else the online, unpaused handle with the shortest queue. The
channel is iMessage unless the recipient is known not to be there (or the handle has no
iMessage), with SMS fallback where allowed.

What one read can tell is read once: the sticky chat comes with its handle and with what
the account's devices know of the recipient's iMessage (`Route.recipient_imessage`), and a
direct message's chat is found or made, and marked as just used, in one upsert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Account
from contract import raw
from contract.errors import InvalidRequest
from handles import selectors as handle_selectors
from handles.addresses import is_email
from handles.errors import InvalidHandle
from handles.models import Channel, Handle, RecipientCapability
from messaging.errors import InvalidFromHandle
from messaging.models import Chat
from messaging.services import new_contacts
from messaging.services.new_contacts import NOT_READ, Standing

# `Route.recipient_imessage` when nobody looked: `resolve_channel` reads it then.


@dataclass(frozen=True)
class Route:
    handle: Handle
    chat: Chat | None
    recipients: list[str]
    is_group: bool
    # What the account's devices know of the (single) recipient's iMessage, if read already.
    recipient_imessage: bool | None = NOT_READ
    # The handle's new-contact standing for these recipients, if read already (new_contacts).
    standing: Standing | None = NOT_READ


def participants_key(participants: list[str]) -> str:
    return ",".join(sorted(participants))


def _sticky_chat(account: Account, recipient: str, now: datetime) -> Chat | None:
    """The DM last used with this recipient, if its handle is still the account's; read
    with its handle, what the account knows of the recipient's iMessage
    (`recipient_imessage`) and the handle's new-contact `standing`, in one statement."""
    params = [
        account.pk,
        recipient,
        *new_contacts.standing_params([recipient], now),
        account.pk,
        recipient,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_sticky_chat_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    chat_fields, handle_fields = Chat._meta.concrete_fields, Handle._meta.concrete_fields
    chat = raw.from_row(Chat, row[: len(chat_fields)])
    handle = raw.from_row(Handle, row[len(chat_fields) : len(chat_fields) + len(handle_fields)])
    chat.handle = handle
    chat.recipient_imessage = row[-3]  # type: ignore[attr-defined]
    chat.standing = Standing(row[-2], row[-1])  # type: ignore[attr-defined]
    if handle.account_id == account.pk:
        return chat
    return None


@cache
def _sticky_chat_sql() -> str:
    return (
        f"SELECT {raw.columns(Chat, 'c')}, {raw.columns(Handle, 'h')}, "  # noqa: S608
        f"(SELECT imessage FROM {raw.table(RecipientCapability)} "
        "WHERE account_id = %s AND address = %s LIMIT 1), "
        f"{new_contacts.standing_sql('h.id')} "
        f"FROM {raw.table(Chat)} c JOIN {raw.table(Handle)} h ON h.id = c.handle_id "
        "WHERE c.account_id = %s AND c.type = 'dm' AND c.participants_key = %s "
        "ORDER BY c.last_message_at DESC LIMIT 1"
    )


def least_busy_handle(
    account: Account,
    channel_needed: str | None,
    *,
    recipients: list[str] | None = None,
    now: datetime | None = None,
) -> Handle:
    """The account's online, unpaused handle with the shortest queue (that sends
    `channel_needed`); for `recipients`, one that may message them now first (it knows them,
    or has new-contact budget and no health pause), its `standing` set on it."""
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

    standing: dict[int, Standing] = {}
    if recipients is not None:
        standing = new_contacts.standings(handles, recipients, now or timezone.now())
    wanted = len(set(recipients or ()))

    def blocked(handle: Handle) -> bool:
        if handle.pk not in standing:
            return False
        known = standing[handle.pk]
        new = wanted - known.known
        return bool(new) and bool(
            new_contacts.new_contact_block(handle, account, used=known.used, new=new)
        )

    def busyness(handle: Handle) -> tuple[bool, bool, int, int, int]:
        # A handle an operator paused is chosen only when no other can send this; one that
        # would hold the message (new-contact budget, line health) only when all would.
        online = handle_selectors.is_online(last_seen.get(handle.pk))
        return (
            handle.paused,
            blocked(handle),
            0 if online else 1,
            depth.get(handle.pk, 0),
            handle.pk,
        )

    chosen = min(handles, key=busyness)
    chosen.standing = standing.get(chosen.pk, NOT_READ)  # type: ignore[attr-defined]
    return chosen


def account_handle(
    account: Account,
    address: str,
    *,
    recipients: list[str] | None = None,
    now: datetime | None = None,
) -> Handle:
    """The account's handle at `address`; 400 `invalid_from_handle` when it is not theirs.

    With `recipients`, read with its new-contact `standing` for them (same statement)."""
    handles = Handle.objects.filter(account=account, address=address)
    if recipients is not None:
        handles = handles.annotate(
            **new_contacts.standing_annotations(recipients, now or timezone.now())
        )
    handle = handles.first()
    if handle is None:
        raise InvalidFromHandle(fields={"from_handle": ["Not a handle of your account."]})
    if recipients is not None:
        handle.standing = new_contacts.standing_of(handle)  # type: ignore[attr-defined]
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
    now = timezone.now()
    if from_handle is not None:
        handle = account_handle(account, from_handle, recipients=recipients, now=now)
    else:
        sticky = None if is_group else _sticky_chat(account, recipients[0], now)
        if sticky is not None:
            sticky_route = Route(
                sticky.handle,
                sticky,
                recipients,
                is_group=False,
                recipient_imessage=sticky.recipient_imessage,  # type: ignore[attr-defined]
                standing=sticky.standing,  # type: ignore[attr-defined]
            )
            if _may_keep(sticky_route, account):
                # The conversation keeps its number, and its chat is already at hand.
                return sticky_route
            # Its handle does not know them yet and would hold the message: another handle
            # that may message them now takes it, if the account has one.
            handle = least_busy_handle(account, needed, recipients=recipients, now=now)
            if handle.pk == sticky.handle.pk or _blocked_on(handle, account, recipients):
                return sticky_route
        else:
            handle = least_busy_handle(account, needed, recipients=recipients, now=now)
    if handle.address in recipients:
        raise InvalidRequest(
            "A handle cannot message itself.", fields={"to": ["Includes the sending handle."]}
        )
    return Route(handle, None, recipients, is_group, standing=getattr(handle, "standing", NOT_READ))


def _may_keep(route: Route, account: Account) -> bool:
    """A sticky route stays: its handle knows the recipient or may take a new contact now."""
    return not _blocked_on(route.handle, account, route.recipients, route.standing)


def _blocked_on(
    handle: Handle, account: Account, recipients: list[str], standing: Any = None
) -> bool:
    """Whether a send from `handle` to `recipients` would be held, by its read standing."""
    standing = standing if standing is not None else getattr(handle, "standing", NOT_READ)
    if standing is NOT_READ:
        return False
    new = len(set(recipients)) - standing.known
    return (
        new > 0
        and new_contacts.new_contact_block(handle, account, used=standing.used, new=new) is not None
    )


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
        imessage = route.recipient_imessage
        if imessage is NOT_READ:
            capability = handle_selectors.capability_get(
                account=account, address=route.recipients[0]
            )
            imessage = None if capability is None else capability.imessage
        if imessage is False and allow_fallback:
            return Channel.SMS, False
    return Channel.IMESSAGE, allow_fallback


def chat_for(
    account: Account, route: Route, channel: str, *, used_at: datetime | None = None
) -> Chat:
    """The route's chat: the one it came with, or the chat of exactly these people (made
    when new; a direct message is unique per handle and person, even under a race).

    With `used_at`, a direct message's chat found or made here has `last_message_at` set to
    it in the same statement (on PostgreSQL); the caller marks any other chat itself."""
    if route.chat is not None:
        return route.chat
    if not route.is_group and used_at is not None and connection.vendor == "postgresql":
        return _dm_upsert(account, route, channel, used_at)
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


@cache
def _dm_upsert_sql() -> str:
    columns = raw.columns(Chat)
    placeholders = ", ".join(["%s"] * len(Chat._meta.concrete_fields))
    return (
        f"INSERT INTO {raw.table(Chat)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        "ON CONFLICT (account_id, handle_id, participants_key) WHERE type = 'dm' "
        f"DO UPDATE SET last_message_at = GREATEST({raw.table(Chat)}.last_message_at, "
        f"EXCLUDED.last_message_at) RETURNING {columns}"
    )


def _dm_upsert(account: Account, route: Route, channel: str, used_at: datetime) -> Chat:
    """The DM of this handle and person, made if new, with `last_message_at = used_at`:
    one `INSERT … ON CONFLICT DO UPDATE` (no savepoint, no read before)."""
    chat = Chat(
        account=account,
        handle=route.handle,
        type=Chat.Type.DM,
        participants=route.recipients,
        participants_key=participants_key(route.recipients),
        channel=channel,
        last_message_at=used_at,
    )
    with connection.cursor() as cursor:
        cursor.execute(_dm_upsert_sql(), raw.insert_params(chat))
        row = cursor.fetchone()
    found = raw.from_row(Chat, row)
    found.handle = route.handle
    return found
