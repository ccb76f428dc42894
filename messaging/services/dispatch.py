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
A paused handle (an operator's hold) is handed nothing and its messages neither fail nor
age; resuming it wakes its dispatcher (`messaging.services.pausing`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, prefetch_related_objects
from django.utils import timezone

from contract.raw import rows_update
from handles import selectors as handle_selectors
from handles import services as handle_services
from handles.models import Handle
from messaging.events import attachment_data, message_attachments
from messaging.models import HandleQueue, Message
from messaging.services import dispatch_wakeups, opt_outs
from messaging.services.lifecycle import (
    EXPIRED,
    Transition,
    dispatch_soon,
    message_expire,
    message_transition,
    message_ttl,
    messages_transition,
)
from messaging.services.new_contacts import release_soon

# A scheduled run that has not happened this long after its time was lost with its broker
# message (or its worker): the sweeper runs the dispatcher again.
LOST_RUN_AFTER = timedelta(seconds=15)
UNASSIGNED = {
    "code": "handle_unassigned",
    "message": "The sending handle was moved to another account before this was sent.",
}
BUSY_RETRY_SECONDS = 0.5
# A run that failed puts its handles back this far out.
FAILED_RUN_RETRY_SECONDS = 1.0
# What one run hands to a device at most (the rest waits for the next run).
MAX_BATCH = 500
# What a late scheduled run may keep of the tokens its lateness earned (< 1: see `_refill`).
LATE_CREDIT = 0.99
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchResult:
    dispatched: int
    expired: int
    run_again_in: float | None
    busy: bool = False
    offline: bool = False
    paused: bool = False


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


def _lock_queues(handles: dict[int, Handle]) -> dict[int, HandleQueue]:
    """The handles' queue rows (made if new), locked for this transaction; a handle whose row
    another dispatcher (or a pause under way) holds, or that was paused since it was read, is
    left out."""
    # The handle's pause is read again in the statement that takes the lock: a pause locks the
    # queue row too (messaging.services.pausing), so once it commits no run hands anything over.
    unpaused = HandleQueue.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        handle__paused=False
    )
    locked = {queue.handle_id: queue for queue in unpaused.filter(handle_id__in=list(handles))}
    missing = [handle for handle_id, handle in handles.items() if handle_id not in locked]
    if missing:
        HandleQueue.objects.bulk_create(
            [HandleQueue(handle=handle, tokens=float(handle.burst)) for handle in missing],
            ignore_conflicts=True,
        )
        locked |= {
            queue.handle_id: queue
            for queue in unpaused.filter(handle_id__in=[handle.pk for handle in missing])
        }
    return locked


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


# Each handle's oldest queued messages, FIFO, as many as asked: one statement for every handle
# of the run, each row locked (a cancel or another dispatcher that holds one wins it).
_OLDEST_QUEUED = """
SELECT m.* FROM unnest(%s::bigint[], %s::int[]) AS wanted(handle_id, n)
CROSS JOIN LATERAL (
    SELECT * FROM messaging_message
    WHERE handle_id = wanted.handle_id AND status = 'queued'
    ORDER BY queued_at, id
    LIMIT wanted.n
    FOR NO KEY UPDATE SKIP LOCKED
) AS m
"""


def _oldest_queued(wanted: dict[int, int]) -> dict[int, list[Message]]:
    """Lock up to `wanted[handle_id]` of each handle's oldest queued messages, in queue order
    (with their attachments and reply targets)."""
    if connection.vendor == "postgresql":
        handle_ids = list(wanted)
        found = list(
            Message.objects.raw(_OLDEST_QUEUED, [handle_ids, [wanted[pk] for pk in handle_ids]])
        )
    else:  # the embedded mode (SQLite): a query a handle, and no row locks to take
        found = [
            message
            for handle_id, n in wanted.items()
            for message in Message.objects.filter(
                handle_id=handle_id, status=Message.Status.QUEUED
            ).order_by("queued_at", "id")[:n]
        ]
    prefetch_related_objects(found, "attachments", "reply_to")
    taken: dict[int, list[Message]] = {handle_id: [] for handle_id in wanted}
    for message in found:
        taken[message.handle_id].append(message)
    for messages in taken.values():
        messages.sort(
            key=lambda message: (message.queued_at is None, message.queued_at, message.id)
        )
    return taken


def handles_dispatch(*, handle_ids: Sequence[int]) -> dict[int, DispatchResult]:
    """Turn as many of each handle's queued messages into device jobs as its pace allows.

    As one batch for all the handles: a fixed number of statements whatever their number and
    their messages' (the queue rows locked in one, the messages in one, the jobs, statuses,
    history rows and queue rows written in one each), and each device woken once. A handle
    whose queue another dispatcher holds is looked at again shortly."""
    results: dict[int, DispatchResult] = {}
    handles: dict[int, Handle] = {}
    for handle in handle_selectors.handles_with_live_device(handle_ids=handle_ids):
        if handle.paused:
            # An operator holds it: nothing goes out, nothing expires; resuming kicks it.
            results[handle.pk] = DispatchResult(0, 0, None, paused=True)
        elif handle_selectors.is_online(handle.last_seen_at):  # type: ignore[attr-defined]
            handles[handle.pk] = handle
        else:
            # The queue waits for the device; it is kicked again when the handle comes online.
            results[handle.pk] = DispatchResult(0, 0, None, offline=True)
    for handle_id in handle_ids:
        results.setdefault(handle_id, DispatchResult(0, 0, None))
    if not handles:
        return results
    with transaction.atomic():
        queues = _lock_queues(handles)
        left_out = handles.keys() - queues.keys()
        paused = handle_selectors.paused_among(handle_ids=left_out) if left_out else set()
        for handle_id in left_out:
            if handle_id in paused:  # paused since it was read: resuming kicks it
                results[handle_id] = DispatchResult(0, 0, None, paused=True)
                continue
            # Another dispatcher holds the queue; it may have looked before this message was
            # committed, so look again shortly rather than wait for the sweeper.
            dispatch_soon(handle_id, countdown=BUSY_RETRY_SECONDS)
            results[handle_id] = DispatchResult(0, 0, None, busy=True)
        now = timezone.now()
        ttl_start = now - message_ttl()
        budgets: dict[int, int] = {}
        for handle_id, queue in queues.items():
            _refill(queue, handles[handle_id], now)
            if queue.next_run_at is not None and queue.next_run_at <= now + timedelta(seconds=1):
                queue.next_run_at = None  # this is that run
            budgets[handle_id] = min(int(queue.tokens), MAX_BATCH)
        # One more than the budget: it tells whether anything waits after this run.
        taken = _oldest_queued({handle_id: n + 1 for handle_id, n in budgets.items()})
        # Accepted just before its recipient opted out: refused here, in one read for the run.
        refused = opt_outs.dispatch_refusals(m for messages in taken.values() for m in messages)
        transitions: list[Transition] = []
        sending: list[Message] = []
        later: dict[int, float] = {}
        for handle_id, messages in taken.items():
            handle, queue, budget = handles[handle_id], queues[handle_id], budgets[handle_id]
            sent = expired = 0
            for message in messages:
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
                elif message.pk in refused:
                    transitions.append(opt_outs.refused_transition(message, at=now))
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
                elif sent < budget:
                    message.handle = handle
                    sending.append(message)
                    sent += 1
            queue.tokens -= sent
            run_again_in = None
            if len(messages) > budget:  # more wait
                rate = handle.per_minute / 60.0
                run_again_in = max(0.05, (1 - queue.tokens) / rate) if queue.tokens < 1 else 0.05
                run_at = now + timedelta(seconds=run_again_in)
                if queue.next_run_at is None or queue.next_run_at > run_at:
                    queue.next_run_at = run_at
                    later[handle_id] = run_again_in
                else:
                    run_again_in = None  # an earlier run is already scheduled
            results[handle_id] = DispatchResult(sent, expired, run_again_in)
        jobs = handle_services.jobs_create_many(
            kind="send", payloads=[(message.handle, _send_payload(message)) for message in sending]
        )
        for message, job in zip(sending, jobs, strict=True):
            message.job = job
            transitions.append(
                Transition(
                    message, Message.Status.SENDING, source="dispatcher", at=now, save=("job",)
                )
            )
        messages_transition(transitions=transitions)
        rows_update(list(queues.values()), ["tokens", "refilled_at", "next_run_at"])
        dispatch_wakeups.soon_many(later)
    return results


def handle_dispatch(*, handle_id: int) -> DispatchResult:
    """`handles_dispatch` for one handle."""
    return handles_dispatch(handle_ids=[handle_id])[handle_id]


@dataclass(frozen=True)
class DueResult:
    handles: int
    dispatched: int


def dispatch_due(*, fire_at: str | None = None) -> DueResult:
    """One run of the coalesced dispatcher: the handles that are due, as one batch."""
    handle_ids = dispatch_wakeups.take(fire_at=fire_at)
    try:
        results = handles_dispatch(handle_ids=handle_ids) if handle_ids else {}
    except Exception:
        # Rolled back, and taken from the set: put them back as timers, so a failed run (a
        # deadlock, the pool's timeout, PostgreSQL restarting) costs them a second, not a wait
        # for the sweeper (which re-kicks them all the same if Redis is away too).
        logger.exception("dispatch of %d handles failed", len(handle_ids))
        try:
            dispatch_wakeups.wake_later_many(dict.fromkeys(handle_ids, FAILED_RUN_RETRY_SECONDS))
        except Exception:
            logger.exception("could not put %d handles back", len(handle_ids))
        raise
    finally:
        dispatch_wakeups.rearm()
    return DueResult(len(handle_ids), sum(result.dispatched for result in results.values()))


@dataclass(frozen=True)
class SweepResult:
    released: int
    expired: int
    kicked: list[int]


def messages_sweep(*, now: datetime | None = None) -> SweepResult:
    """Release scheduled messages that are due, expire stale ones, re-kick lost dispatchers."""
    now = now or timezone.now()
    released = 0
    held: set[int] = set()
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
            if message.status_reason:
                # Held when accepted (new-contact budget, line health): from its time on it
                # waits with the handle's held messages, by age (releasing.held_release).
                message.send_at = None
                message.save(update_fields=["send_at"])
                held.add(message.handle_id)
                continue
            message.queued_at = message.send_at or now

            message.save(update_fields=["queued_at"])
            message_transition(
                message, Message.Status.QUEUED, source="sweeper", detail="send_at reached"
            )
            released += 1

    for handle_id in held:
        transaction.on_commit(partial(release_soon, handle_id))

    expired = 0
    # A paused handle's messages do not age (handles.services.handle_pause).
    stale = Message.objects.filter(
        Q(status=Message.Status.QUEUED) | Q(status=Message.Status.SENDING),
        queued_at__lt=now - message_ttl(),
        handle__paused=False,
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
        Q(next_run_at__isnull=True) | Q(next_run_at__lt=now - LOST_RUN_AFTER),
        handle__paused=False,
    ).filter(Exists(waiting))
    kicked = list(lost.values_list("handle_id", flat=True))
    never_dispatched = (
        Message.objects.filter(
            status=Message.Status.QUEUED, handle__queue__isnull=True, handle__paused=False
        )
        .values_list("handle_id", flat=True)
        .distinct()
    )
    kicked += list(never_dispatched)
    # One round trip, and a task only if no run is pending: a backlog waiting for a busy (or
    # absent) worker is not multiplied by the sweeps that see it.
    dispatch_wakeups.wake(kicked)
    return SweepResult(released, expired, kicked)
