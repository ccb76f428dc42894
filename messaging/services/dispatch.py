"""Paced dispatch: each sending handle releases its queue FIFO, at its own rate.

Each handle has a token bucket (`HandleQueue`): `burst` tokens at most, refilled at
`per_minute` a minute. A dispatcher holds the handle's queue row lock while it turns queued
messages into device jobs, one token each, oldest first; so any number of workers may run
dispatchers and a handle's messages still leave in order and never faster than its rate
(in any 60 s: at most per_minute + burst). When the bucket is empty it schedules itself for
the moment the next token is due, so it never sleeps in a worker: a busy or offline handle
delays no other. The sweeper (beat) re-kicks any handle whose scheduled run was lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from handles import selectors as handle_selectors
from handles import services as handle_services
from handles.models import Handle
from messaging.events import attachment_data, message_attachments
from messaging.models import HandleQueue, Message
from messaging.services.lifecycle import (
    dispatch_soon,
    message_expire,
    message_transition,
    message_ttl,
)

# A scheduled run that has not happened this long after its time was lost with its broker
# message (or its worker): the sweeper runs the dispatcher again.
LOST_RUN_AFTER = timedelta(seconds=15)
UNASSIGNED = {
    "code": "handle_unassigned",
    "message": "The sending handle was moved to another account before this was sent.",
}
BUSY_RETRY_SECONDS = 0.5


@dataclass(frozen=True)
class DispatchResult:
    dispatched: int
    expired: int
    run_again_in: float | None
    busy: bool = False
    offline: bool = False


def _send_payload(message: Message) -> dict[str, object]:
    return {
        "message_id": message.id,
        "chat_id": message.chat_id,
        "to": message.to,
        "channel": message.channel,
        "text": message.text,
        "attachments": [attachment_data(a) for a in message_attachments(message)],
        "effect": message.effect or None,
        "reply_to": message.reply_to.upstream_id if message.reply_to else None,
    }


def _lock_queue(handle: Handle) -> HandleQueue | None:
    """The handle's queue row, locked for this transaction; None if a dispatcher holds it."""
    HandleQueue.objects.get_or_create(handle=handle, defaults={"tokens": float(handle.burst)})
    try:
        return HandleQueue.objects.select_for_update(nowait=True).get(handle=handle)
    except DatabaseError:
        return None


def handle_dispatch(*, handle_id: int) -> DispatchResult:
    """Turn as many of the handle's queued messages into device jobs as its pace allows."""
    handle = Handle.objects.filter(pk=handle_id).first()
    if handle is None:
        return DispatchResult(0, 0, None)
    device = handle_selectors.live_device(handle=handle)
    if device is None or not handle_selectors.is_online(device.last_seen_at):
        # The queue waits for the device; it is kicked again when the handle comes online.
        return DispatchResult(0, 0, None, offline=True)
    with transaction.atomic():
        queue = _lock_queue(handle)
        if queue is None:
            # Another dispatcher holds the queue; it may have looked before this message was
            # committed, so look again shortly rather than wait for the sweeper.
            dispatch_soon(handle.pk, countdown=BUSY_RETRY_SECONDS)
            return DispatchResult(0, 0, None, busy=True)
        now = timezone.now()
        rate = handle.per_minute / 60.0
        elapsed = max(0.0, (now - queue.refilled_at).total_seconds())
        queue.tokens = min(float(handle.burst), queue.tokens + elapsed * rate)
        queue.refilled_at = now
        if queue.next_run_at is not None and queue.next_run_at <= now + timedelta(seconds=1):
            queue.next_run_at = None  # this is that run
        dispatched = expired = 0
        ttl_start = now - message_ttl()
        queued = Message.objects.filter(handle=handle, status=Message.Status.QUEUED)
        for message_id, account_id, queued_at in queued.order_by("queued_at", "id").values_list(
            "id", "account_id", "queued_at"
        )[:500]:
            if queue.tokens < 1 and (queued_at is None or queued_at >= ttl_start):
                break
            # The row is locked before anything is decided: a cancel, the sweeper or another
            # dispatcher that got there first wins, and this one skips it.
            message = (
                Message.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
                .select_related("reply_to")
                .prefetch_related("attachments")
                .filter(pk=message_id, status=Message.Status.QUEUED)
                .first()
            )
            if message is None:
                continue
            if account_id != handle.account_id:
                message_transition(
                    message,
                    Message.Status.FAILED,
                    source="dispatcher",
                    detail="handle reassigned",
                    error=UNASSIGNED,
                )
                continue
            if queued_at is not None and queued_at < ttl_start:
                message_expire(message, source="dispatcher")
                expired += 1
                continue
            message.job = handle_services.job_create(
                handle=handle, kind="send", payload=_send_payload(message)
            )
            message.save(update_fields=["job"])
            message_transition(message, Message.Status.SENDING, source="dispatcher", at=now)
            queue.tokens -= 1
            dispatched += 1
        run_again_in = None
        if queued.exists():
            run_again_in = max(0.05, (1 - queue.tokens) / rate) if queue.tokens < 1 else 0.05
            run_at = now + timedelta(seconds=run_again_in)
            if queue.next_run_at is None or queue.next_run_at > run_at:
                queue.next_run_at = run_at
                dispatch_soon(handle.pk, countdown=run_again_in)
            else:
                run_again_in = None  # an earlier run is already scheduled
        queue.save(update_fields=["tokens", "refilled_at", "next_run_at"])
    return DispatchResult(dispatched, expired, run_again_in)


@dataclass(frozen=True)
class SweepResult:
    released: int
    expired: int
    kicked: list[int]


def messages_sweep(*, now: datetime | None = None) -> SweepResult:
    """Release scheduled messages that are due, expire stale ones, re-kick lost dispatchers."""
    now = now or timezone.now()
    released = 0
    due = Message.objects.filter(status=Message.Status.SCHEDULED, send_at__lte=now).order_by(
        "send_at", "id"
    )
    for message_id in due.values_list("id", flat=True)[:1000]:
        with transaction.atomic():
            message = (
                Message.objects.select_for_update(no_key=True)
                .filter(pk=message_id, status=Message.Status.SCHEDULED)
                .first()
            )
            if message is None:
                continue
            message.queued_at = message.send_at or now
            message.save(update_fields=["queued_at"])
            message_transition(
                message, Message.Status.QUEUED, source="sweeper", detail="send_at reached"
            )
            released += 1

    expired = 0
    stale = Message.objects.filter(
        Q(status=Message.Status.QUEUED) | Q(status=Message.Status.SENDING),
        queued_at__lt=now - message_ttl(),
    )
    for message_id in stale.values_list("id", flat=True)[:1000]:
        with transaction.atomic():
            message = (
                Message.objects.select_for_update(of=("self",), no_key=True)
                .select_related("job")
                .filter(pk=message_id, status__in=[Message.Status.QUEUED, Message.Status.SENDING])
                .first()
            )
            if message is None:
                continue
            # Only a job no device has fetched is taken back: one fetched may be under way, and
            # its device's answer decides (a send is never failed while it may go out).
            if message.status == Message.Status.SENDING and (
                message.job is None
                or not handle_services.job_withdraw(job=message.job, unstarted_only=True)
            ):
                continue
            message_expire(message, source="dispatcher")
            expired += 1

    waiting = Message.objects.filter(handle=OuterRef("handle"), status=Message.Status.QUEUED)
    lost = HandleQueue.objects.filter(
        Q(next_run_at__isnull=True) | Q(next_run_at__lt=now - LOST_RUN_AFTER)
    ).filter(Exists(waiting))
    kicked = list(lost.values_list("handle_id", flat=True))
    never_dispatched = (
        Message.objects.filter(status=Message.Status.QUEUED, handle__queue__isnull=True)
        .values_list("handle_id", flat=True)
        .distinct()
    )
    kicked += list(never_dispatched)
    for handle_id in kicked:
        dispatch_soon(handle_id)
    return SweepResult(released, expired, kicked)
