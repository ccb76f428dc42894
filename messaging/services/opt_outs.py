"""Opt-outs: a recipient who asked an account to stop is not messaged by any of its handles,
on any channel, until they opt back in (docs/compliance.md, "Opt-outs").

Three guards, each closing what the one before leaves open:
- a send to an opted-out recipient is refused (`send_check`, 409 `recipient_opted_out`)
  before anything is written, in one read;
- an opt-out fails, in its own transaction, the account's messages to that recipient still
  `queued` or `scheduled` (`opt_out_add`);
- the dispatcher refuses what was accepted just before the opt-out committed
  (`dispatch_refusals`, one read per dispatch run).
The one message that may still go to an opted-out recipient is the confirmation of their
opt-out: it replies to (`reply_to`) the message that opted them out.

A group send that includes an opted-out member follows the same rules unless the account
allows it (`Account.group_opt_outs_allowed`); members are not told.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from messaging import events
from messaging.errors import RecipientOptedOut
from messaging.models import Chat, Message, OptOut
from messaging.services.lifecycle import Transition, messages_transition

OPTED_OUT = {
    "code": "recipient_opted_out",
    "message": "The recipient opted out of messages from this account.",
}


def recipients_of(message: Message) -> list[str]:
    """Who an outbound message goes to: its one recipient, or the group's members."""
    return [str(r) for r in message.to] if isinstance(message.to, list) else [str(message.to)]


def opted_out_among(*, account_id: str, recipients: Sequence[str]) -> list[str]:
    """Which of `recipients` opted out of the account (one indexed read)."""
    return sorted(
        OptOut.objects.filter(account_id=account_id, recipient__in=list(recipients)).values_list(
            "recipient", flat=True
        )
    )


def send_check(*, account: Account, recipients: Sequence[str], is_group: bool) -> None:
    """Refuse a send to an opted-out recipient (or a group with one, unless the account
    allows it): 409 `recipient_opted_out`, before anything is written."""
    if is_group and account.group_opt_outs_allowed:
        return
    if opted_out_among(account_id=account.pk, recipients=recipients):
        raise RecipientOptedOut(
            "A member of this group opted out of messages from this account." if is_group else None
        )


@dataclass(frozen=True)
class Change:
    """What an opt-out or opt-in did: the row, and whether anything changed."""

    opt_out: OptOut
    changed: bool


def opt_out_add(
    *,
    account: Account,
    recipient: str,
    source: str,
    reason: str = "",
    message: Message | None = None,
    handle: str | None = None,
) -> Change:
    """Opt `recipient` (normalized) out of the account: the row, its `contact.opted_out`
    event and the failure of what still waits to go to them, in one transaction. Once: an
    opt-out that exists is returned as it is (`changed` False), and nothing else happens."""
    with transaction.atomic():
        existing = OptOut.objects.filter(account=account, recipient=recipient).first()
        if existing is not None:
            return Change(existing, changed=False)
        opt_out = OptOut(
            account=account,
            recipient=recipient,
            source=source,
            reason=reason[:500],
            message=message,
            created_at=timezone.now(),
        )
        try:
            with transaction.atomic():
                opt_out.save(force_insert=True)
        except IntegrityError:  # the same opt-out, made at the same moment, won
            return Change(OptOut.objects.get(account=account, recipient=recipient), False)
        _pending_fail(account=account, recipient=recipient, source=source)
        events.contact_opted(
            account_id=account.pk,
            opted_out=True,
            recipient=recipient,
            source=source,
            reason=opt_out.reason,
            at=opt_out.created_at,
            handle=handle,
            message_id=message.pk if message is not None else None,
        )
    return Change(opt_out, changed=True)


def opt_out_remove(
    *,
    account: Account,
    recipient: str,
    source: str,
    message: Message | None = None,
    handle: str | None = None,
) -> OptOut | None:
    """Opt `recipient` back in: the row deleted and `contact.opted_in` published, in one
    transaction. None (and nothing published) when they had not opted out."""
    with transaction.atomic():
        opt_out = (
            OptOut.objects.select_for_update().filter(account=account, recipient=recipient).first()
        )
        if opt_out is None:
            return None
        opt_out.delete()
        events.contact_opted(
            account_id=account.pk,
            opted_out=False,
            recipient=recipient,
            source=source,
            reason="",
            at=timezone.now(),
            handle=handle,
            message_id=message.pk if message is not None else None,
        )
    return opt_out


def _chats_with(*, account: Account, recipient: str) -> list[str]:
    """The account's chats `recipient` is in: their DMs, and (unless the account allows
    opted-out members) the groups they are a member of."""
    chats = Q(type=Chat.Type.DM, participants_key=recipient)
    if not account.group_opt_outs_allowed:
        # A substring of the members' key first, then exactly (SQLite has no JSON contains).
        chats |= Q(type=Chat.Type.GROUP, participants_key__contains=recipient)
    return [
        chat_id
        for chat_id, participants in Chat.objects.filter(chats, account=account).values_list(
            "id", "participants"
        )
        if recipient in participants
    ]


def _pending_fail(*, account: Account, recipient: str, source: str) -> int:
    """Fail the account's messages to `recipient` that are still queued or scheduled (held
    ones too) with `recipient_opted_out`; return how many."""
    chat_ids = _chats_with(account=account, recipient=recipient)
    if not chat_ids:
        return 0
    waiting = list(
        Message.objects.select_for_update(of=("self",), no_key=True)
        .filter(
            account=account,
            chat_id__in=chat_ids,
            direction=Message.Direction.OUTBOUND,
            status__in=[Message.Status.QUEUED, Message.Status.SCHEDULED],
        )
        .prefetch_related("attachments", "reactions")
        .order_by("id")
    )
    messages_transition(
        transitions=[
            Transition(
                message,
                Message.Status.FAILED,
                source="opt_out",
                detail=f"recipient opted out ({source})",
                error=OPTED_OUT,
            )
            for message in waiting
        ]
    )
    return len(waiting)


@dataclass(frozen=True)
class _Refusing:
    reply_allowed: str | None  # the message the confirmation of this opt-out replies to
    groups_allowed: bool


def dispatch_refusals(messages: Iterable[Message]) -> set[str]:
    """The ids among `messages` (about to be handed to devices) whose recipient opted out
    since they were accepted: one read for all of them."""
    messages = list(messages)
    accounts = {message.account_id for message in messages}
    wanted = {r for message in messages for r in recipients_of(message)}
    if not messages:
        return set()
    refusing = {
        (account_id, recipient): _Refusing(reply_allowed, groups_allowed)
        for account_id, recipient, reply_allowed, groups_allowed in OptOut.objects.filter(
            account_id__in=accounts, recipient__in=wanted
        ).values_list("account_id", "recipient", "message_id", "account__group_opt_outs_allowed")
    }
    if not refusing:
        return set()
    refused: set[str] = set()
    for message in messages:
        if isinstance(message.to, list):
            found = [refusing.get((message.account_id, r)) for r in recipients_of(message)]
            if any(f is not None and not f.groups_allowed for f in found):
                refused.add(message.pk)
            continue
        found_dm = refusing.get((message.account_id, str(message.to)))
        if found_dm is not None and (
            found_dm.reply_allowed is None or message.reply_to_id != found_dm.reply_allowed
        ):
            refused.add(message.pk)
    return refused


def refused_transition(message: Message, *, at: datetime) -> Transition:
    """The dispatcher's failure of a message whose recipient opted out before it went."""
    return Transition(
        message,
        Message.Status.FAILED,
        source="dispatcher",
        at=at,
        detail="recipient opted out",
        error=OPTED_OUT,
    )
