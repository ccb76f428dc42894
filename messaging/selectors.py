"""Reads of chats and messages, always scoped to one account (or one device's handle), but
the operators' reads at the end, which span every account (admin, monitoring)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account
from accounts.tenancy import get_owned
from contract.errors import NotFound
from handles.models import Handle
from messaging.models import Attachment, Chat, DailyCount, Message, MessageStatusEvent, OptOut

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def opt_out_list(*, account: Account, recipient: str | None = None) -> QuerySet[OptOut]:
    """The account's opt-outs (one recipient's, when given); the caller orders and pages."""
    opt_outs = OptOut.objects.filter(account=account)
    if recipient:
        opt_outs = opt_outs.filter(recipient=recipient)
    return opt_outs


def opt_out_get(*, account: Account, recipient: str) -> OptOut:
    """The account's opt-out of `recipient`; 404 when they have not opted out (of it)."""
    opt_out = OptOut.objects.filter(account=account, recipient=recipient).first()
    if opt_out is None:
        raise NotFound("This recipient has not opted out of your account.")
    return opt_out


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


# --- the dashboard -----------------------------------------------------------------------


def daily_counts(*, account: Account, since: date) -> dict[date, dict[str, int]]:
    """Per day from `since` (UTC): how many messages were sent, delivered, read, failed and
    received. One query over the daily rollup, whatever the number of messages."""
    rows = (
        DailyCount.objects.filter(account=account, day__gte=since)
        .values("day")
        .annotate(
            sent=Sum("sent"),
            delivered=Sum("delivered"),
            read=Sum("read"),
            failed=Sum("failed"),
            received=Sum("received"),
        )
    )
    return {row.pop("day"): row for row in rows}


def recent_failures(*, account: Account, limit: int = 5) -> list[Message]:
    return list(
        Message.objects.filter(account=account, status=Message.Status.FAILED).order_by(
            "-created_at", "-id"
        )[:limit]
    )


def chats_recent(*, account: Account, limit: int = 50) -> list[Chat]:
    """The account's chats, most recently active first, each with its last message's text,
    direction and status and how many inbound messages came after our last outbound one."""
    in_chat = Message.objects.filter(chat=OuterRef("pk")).order_by("-created_at", "-id")
    outbound = in_chat.filter(direction=Message.Direction.OUTBOUND)
    unanswered = (
        Message.objects.filter(
            chat=OuterRef("pk"),
            direction=Message.Direction.INBOUND,
            created_at__gt=Coalesce(OuterRef("last_outbound_at"), Value(EPOCH)),
        )
        .order_by()
        .values("chat")
        .annotate(n=Count("id"))
        .values("n")
    )
    return list(
        Chat.objects.filter(account=account)
        .select_related("handle")
        .annotate(
            last_text=Subquery(in_chat.values("text")[:1]),
            last_direction=Subquery(in_chat.values("direction")[:1]),
            last_status=Subquery(in_chat.values("status")[:1]),
            last_outbound_at=Subquery(outbound.values("created_at")[:1]),
        )
        .annotate(unanswered=Coalesce(Subquery(unanswered), 0))
        .order_by(F("last_message_at").desc(nulls_last=True), "-id")[:limit]
    )


def chat_thread(*, chat: Chat, limit: int = 50) -> list[Message]:
    """The chat's last `limit` messages, oldest first, with what their bubbles show."""
    newest = (
        Message.objects.filter(chat=chat)
        .prefetch_related("reactions", "attachments")
        .order_by("-created_at", "-id")[:limit]
    )
    return list(reversed(list(newest)))


def message_search(*, account: Account, filters: dict[str, Any]) -> QuerySet[Message]:
    """The dashboard's message log: GET /v1/messages' filters, plus `handle` (ours), `q` (a
    message id, or words of its text) and the days `since` and `until` (UTC, inclusive)."""
    messages = message_list(account=account, filters=filters)
    since: date | None = filters.get("since")
    if since is not None:
        messages = messages.filter(created_at__gte=datetime.combine(since, time(), UTC))
    until: date | None = filters.get("until")
    if until is not None:
        next_day = datetime.combine(until + timedelta(days=1), time(), UTC)
        messages = messages.filter(created_at__lt=next_day)
    if filters.get("handle"):
        messages = messages.filter(handle__address=filters["handle"])
    query = (filters.get("q") or "").strip()
    if query.startswith("msg_"):
        messages = messages.filter(pk=query)
    elif query:
        messages = messages.filter(text__icontains=query)
    return messages


def messages_today_many(account_ids: list[str]) -> dict[str, dict[str, int]]:
    """Messages each account sent and received today (UTC), in one query over the rollup."""
    today = timezone.now().astimezone(UTC).date()
    rows = (
        DailyCount.objects.filter(account_id__in=account_ids, day=today)
        .values("account_id")
        .annotate(sent=Sum("sent"), received=Sum("received"))
    )
    found = {
        row["account_id"]: {"messages_today": row["sent"], "received_today": row["received"]}
        for row in rows
    }
    return {
        account_id: found.get(account_id, {"messages_today": 0, "received_today": 0})
        for account_id in account_ids
    }


def queue_annotations() -> dict[str, Any]:
    """Columns of the operators' handle list: queued messages and the oldest one's place
    (subqueries over the queue's partial index; registered with `handles.registry`)."""
    queued = Message.objects.filter(handle=OuterRef("pk"), status=Message.Status.QUEUED).order_by()
    return {
        "queued": Coalesce(
            Subquery(queued.values("handle").annotate(n=Count("id")).values("n")), Value(0)
        ),
        "oldest_queued_at": Subquery(queued.order_by("queued_at").values("queued_at")[:1]),
    }


def messages_today(account: Account) -> dict[str, int]:
    """Messages the account sent today (UTC), for its settings page."""
    today = timezone.now().astimezone(UTC).date()
    sent = DailyCount.objects.filter(account=account, day=today).aggregate(n=Sum("sent"))["n"]
    return {"messages_today": sent or 0}


# --- operators' reads: every account ------------------------------------------------------


def stuck_in_sending(*, now: datetime | None = None) -> Q:
    """Messages in `sending` for longer than SWITCHBOARD_SYNC_ACTION_TIMEOUT seconds since
    their job was made (or with no job): the overview's card and the admin's `stuck` filter."""
    cutoff = (now or timezone.now()) - timedelta(
        seconds=int(settings.SWITCHBOARD_SYNC_ACTION_TIMEOUT)
    )
    return Q(status=Message.Status.SENDING) & (Q(job__isnull=True) | Q(job__created_at__lt=cutoff))
