"""Paced dispatch: each sending handle releases its queue FIFO, at its own rate, in batches.

Each handle has a token bucket (`HandleQueue`): `burst` tokens at most, refilled at
`per_minute` a minute. A dispatcher holds the handle's queue row lock while it turns queued
messages into device jobs, one token each, oldest first; so any number of workers may run
dispatchers and a handle's messages still leave in order and never faster than its rate
(in any 60 s: at most per_minute + burst). A run is a batch: the due messages are locked in
one query and become jobs, statuses and history rows in one statement each, whatever their
number. When the bucket is empty the handle is given a timer for the moment its next token
is due, so a dispatcher never sleeps in a worker: a busy or offline handle delays no other.
Runs are coalesced (`dispatch_wakeups`): one task takes every handle that is due. A run that
comes late keeps its lateness as credit (below one token), so the rate holds. The sweeper
(beat) re-kicks any handle whose queued messages wait with no run due, and only those.
"""

from __future__ import annotations

import logging
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
from messaging.services import dispatch_wakeups
from messaging.services.lifecycle import (
    EXPIRED,
    Transition,
    dispatch_soon,
    message_expire,
    message_transition,
    message_ttl,
    messages_transition,
)

# A scheduled run that has not happened this long after its time was lost with its broker
# message (or its worker): the sweeper runs the dispatcher again.
LOST_RUN_AFTER = timedelta(seconds=15)
UNASSIGNED = {
    "code": "handle_unassigned",
    "message": "The sending handle was moved to another account before this was sent.",
}
BUSY_RETRY_SECONDS = 0.5
# What one run hands to a device at most (the rest waits for the next run).
MAX_BATCH = 500
# What a late scheduled run may keep of the tokens its lateness earned (< 1: see `_refill`).
LATE_CREDIT = 0.9
logger = logging.getLogger(__name__)


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


def _refill(queue: HandleQueue, handle: Handle, now: datetime) -> None:
    """Add the tokens earned since the last refill, up to the bucket's size.

    A run that was scheduled for a token and ran late keeps what the lateness earned, up to
    `LATE_CREDIT` (less than one token): a late run is not a slower handle, and the bucket
    still never holds `burst + 1` tokens, so no 60 s sees more than per_minute + burst."""
    rate = handle.per_minute / 60.0
    elapsed = max(0.0, (now - queue.refilled_at).total_seconds())
    size = float(handle.burst)
    if queue.next_run_at is not None and queue.next_run_at < now:
        late = (now - queue.next_run_at).total_seconds()
        size += min(LATE_CREDIT, late * rate)
    queue.tokens = min(size, queue.tokens + elapsed * rate)
    queue.refilled_at = now


def _take_queued(handle: Handle, budget: int, ttl_start: datetime) -> tuple[list[Message], bool]:
    """Lock the handle's oldest queued messages, FIFO: `budget` to send plus the stale ones
    (expired, or of another account) in front of or among them. Also whether more wait.

    One query in the common case; only stale rows at the head make it read on."""
    queued = (
        Message.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
        .filter(handle=handle, status=Message.Status.QUEUED)
        .select_related("reply_to")
        .prefetch_related("attachments")
        .order_by("queued_at", "id")
    )
    taken: list[Message] = []
    fresh = 0
    while len(taken) < MAX_BATCH:
        # One more than needed: it tells whether anything waits after this run.
        want = max(budget - fresh, 0) + 1
        chunk = list(queued[len(taken) : len(taken) + want])
        for message in chunk:
            stale = message.account_id != handle.account_id or (
                message.queued_at is not None and message.queued_at < ttl_start
            )
            if not stale and fresh >= budget:
                return taken, True
            taken.append(message)
            fresh += not stale
        if len(chunk) < want:
            return taken, False
    return taken, True


def handle_dispatch(*, handle_id: int) -> DispatchResult:
    """Turn as many of the handle's queued messages into device jobs as its pace allows.

    As a batch: the queued messages are locked in one query, their jobs created in one
    statement, their status and history written in one each, and the device woken once."""
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
        _refill(queue, handle, now)
        if queue.next_run_at is not None and queue.next_run_at <= now + timedelta(seconds=1):
            queue.next_run_at = None  # this is that run
        taken, more = _take_queued(handle, min(int(queue.tokens), MAX_BATCH), now - message_ttl())
        ttl_start = now - message_ttl()
        transitions: list[Transition] = []
        sending: list[Message] = []
        expired = 0
        for message in taken:
            if message.account_id != handle.account_id:
                transitions.append(
                    Transition(
                        message,
                        Message.Status.FAILED,
                        source="dispatcher",
                        detail="handle reassigned",
                        error=UNASSIGNED,
                    )
                )
            elif message.queued_at is not None and message.queued_at < ttl_start:
                transitions.append(
                    Transition(
                        message,
                        Message.Status.FAILED,
                        source="dispatcher",
                        detail="expired",
                        error=EXPIRED,
                    )
                )
                expired += 1
            else:
                sending.append(message)
        jobs = handle_services.jobs_create(
            handle=handle, kind="send", payloads=[_send_payload(message) for message in sending]
        )
        for message, job in zip(sending, jobs, strict=True):
            message.job = job
            transitions.append(
                Transition(
                    message, Message.Status.SENDING, source="dispatcher", at=now, save=("job",)
                )
            )
        messages_transition(transitions=transitions)
        queue.tokens -= len(sending)
        run_again_in = None
        if more:
            rate = handle.per_minute / 60.0
            run_again_in = max(0.05, (1 - queue.tokens) / rate) if queue.tokens < 1 else 0.05
            run_at = now + timedelta(seconds=run_again_in)
            if queue.next_run_at is None or queue.next_run_at > run_at:
                queue.next_run_at = run_at
                dispatch_soon(handle.pk, countdown=run_again_in)
            else:
                run_again_in = None  # an earlier run is already scheduled
        queue.save(update_fields=["tokens", "refilled_at", "next_run_at"])
    return DispatchResult(len(sending), expired, run_again_in)


@dataclass(frozen=True)
class DueResult:
    handles: int
    dispatched: int


def dispatch_due(*, fire_at: str | None = None) -> DueResult:
    """One run of the coalesced dispatcher: the handles that are due, each as a batch."""
    handle_ids = dispatch_wakeups.take(fire_at=fire_at)
    dispatched = 0
    try:
        for handle_id in handle_ids:
            try:
                dispatched += handle_dispatch(handle_id=handle_id).dispatched
            except DatabaseError:
                # Taken from the set, so the sweeper's: it re-kicks a handle whose queued
                # messages wait with no run due, within seconds. The others still go.
                logger.exception("dispatch of handle %s failed", handle_id)
    finally:
        dispatch_wakeups.rearm()
    return DueResult(len(handle_ids), dispatched)


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
    # One round trip, and a task only if no run is pending: a backlog waiting for a busy (or
    # absent) worker is not multiplied by the sweeps that see it.
    dispatch_wakeups.wake(kicked)
    return SweepResult(released, expired, kicked)
