"""A message's status lifecycle: transitions, retry, cancel, expiry, and waking the dispatcher.

Every status change goes through `message_transition` (one message) or `messages_transition`
(a batch, in a fixed number of statements), which record it in the history, publish its
event on the outbox in the same transaction, and never let a status go backwards (a late
receipt is recorded, not applied). Dispatch is enqueued in one place, `dispatch_soon`, by
task name (through `dispatch_wakeups`): services never import `messaging.tasks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contract import metrics
from contract.errors import Conflict
from contract.raw import rows_update
from messaging import events
from messaging.errors import InvalidFromHandle
from messaging.models import Message, MessageStatusEvent
from messaging.services import dispatch_wakeups, stats

# Outbound statuses only move forward along this order (failed is reachable from queued,
# sending and sent; retry is the one explicit way back, from failed to queued).
RANK: dict[str, int] = {
    Message.Status.SCHEDULED: 0,
    Message.Status.QUEUED: 1,
    Message.Status.SENDING: 2,
    Message.Status.SENT: 3,
    Message.Status.DELIVERED: 4,
    Message.Status.READ: 5,
}
TIME_FIELD: dict[str, str] = {
    Message.Status.SENT: "sent_at",
    Message.Status.DELIVERED: "delivered_at",
    Message.Status.READ: "read_at",
    Message.Status.FAILED: "failed_at",
}
DISPATCH_TASK = dispatch_wakeups.HANDLE_TASK
DISPATCH_DUE_TASK = dispatch_wakeups.DUE_TASK
EXPIRED = {"code": "expired", "message": "Not sent within its time to live."}


def message_ttl() -> timedelta:
    return timedelta(hours=int(settings.SWITCHBOARD_MESSAGE_TTL_HOURS))


def dispatch_soon(handle_id: int, *, countdown: float = 0.0) -> None:
    """Run the handle's dispatcher once this transaction commits (never for rolled-back
    work; at once outside a transaction), after `countdown` seconds.

    Coalesced (`messaging.services.dispatch_wakeups`): one Redis round trip, and a Celery
    publish only when no run is pending. A hint, not the record: if Redis or the broker
    cannot take it the failure is logged and the committed work stands; the sweeper re-kicks
    the handle within seconds."""
    dispatch_wakeups.soon(handle_id, countdown=countdown)


@dataclass
class Transition:
    """One status change asked of one message; `messages_transition` applies a list of them.

    The fields mean what `message_transition`'s arguments mean; `save` names other fields
    of the message the caller changed, written with the transition (`job`, `upstream_id`…)."""

    message: Message
    status: str
    source: str
    at: datetime | None = None
    detail: str = ""
    error: dict[str, str] | None = None
    force: bool = False
    save: tuple[str, ...] = ()


@dataclass
class _Applied:
    applied: bool
    fields: list[str]
    outcomes: list[str]
    at: datetime


def _decide(change: Transition, now: datetime) -> _Applied:
    """Apply `change` to its message in memory; what to write follows."""
    message, status = change.message, change.status
    at = change.at or now
    current = message.status
    if change.force:
        applied = True
    elif status == Message.Status.FAILED:
        applied = current in (
            Message.Status.SCHEDULED,
            Message.Status.QUEUED,
            Message.Status.SENDING,
            Message.Status.SENT,
        )
    else:
        applied = current in RANK and status in RANK and RANK[status] > RANK[current]
    fields: list[str] = []
    outcomes: list[str] = []
    time_field = TIME_FIELD.get(status)
    if (
        time_field
        and getattr(message, time_field) is None
        and (applied or status != Message.Status.FAILED)
    ):
        # A late receipt still tells us when it happened.
        setattr(message, time_field, at)
        fields.append(time_field)
    if applied:
        outcomes = stats.outcomes_reached(current, status)
        message.status = status
        fields.append("status")
        if change.error is not None:
            message.error_code = change.error.get("code", "")[:64]
            message.error_message = change.error.get("message", "")[:1000]
            fields += ["error_code", "error_message"]
    return _Applied(applied, fields, outcomes, at)


Observation = tuple[str, str, float | None, float | None]


def observation(message: Message, status: str, at: datetime) -> Observation:
    """What /metrics counts of `message` reaching `status` at `at` (contract.metrics)."""
    dispatch_seconds = delivery_seconds = None
    if status == Message.Status.SENT and message.queued_at is not None:
        dispatch_seconds = (at - message.queued_at).total_seconds()
    elif status == Message.Status.DELIVERED and message.sent_at is not None:
        delivery_seconds = (at - message.sent_at).total_seconds()
    return (status, message.channel, dispatch_seconds, delivery_seconds)


def observe_on_commit(observations: list[Observation]) -> None:
    """Count these in /metrics once the transaction commits (never work rolled back)."""
    if observations:
        transaction.on_commit(lambda: metrics.messages_observe(observations))


def _history(change: Transition, decided: _Applied) -> MessageStatusEvent:
    return MessageStatusEvent(
        message=change.message,
        status=change.status,
        at=decided.at,
        source=change.source,
        detail=change.detail[:500],
        applied=decided.applied,
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
    change = Transition(message, status, source, at, detail, error, force)
    decided = _decide(change, timezone.now())
    if decided.applied:
        stats.count(message, decided.outcomes, at=decided.at)
    if decided.fields:
        message.save(update_fields=decided.fields)
    _history(change, decided).save()
    if decided.applied:
        events.message_status_changed(message)
        observe_on_commit([observation(message, status, decided.at)])
    return decided.applied


def messages_transition(*, transitions: Sequence[Transition]) -> list[bool]:
    """Apply `transitions` in order, each exactly as `message_transition` would; return for
    each whether it was applied.

    For batches (the dispatcher, device results and receipts): a fixed number of statements
    whatever the batch's size: one UPDATE per distinct set of changed fields, one INSERT of
    history rows, one upsert of the daily counts, one INSERT of events. Call it inside the
    transaction that holds the messages' row locks; several transitions of one message (sent,
    then delivered) may be in one batch if they share one `Message` instance. Prefetch the
    messages' `attachments` and `reactions` (the events carry them) to keep it one query each.
    """
    now = timezone.now()
    applied: list[bool] = []
    changed: dict[tuple[str, ...], dict[str, Message]] = {}
    fields_of: dict[str, set[str]] = {}
    history: list[MessageStatusEvent] = []
    counts: list[tuple[Message, list[str], datetime]] = []
    published: list[dict[str, Any]] = []
    observed: list[Observation] = []
    for change in transitions:
        decided = _decide(change, now)
        message = change.message
        applied.append(decided.applied)
        history.append(_history(change, decided))
        if decided.fields or change.save:
            fields_of.setdefault(message.pk, set()).update(decided.fields, change.save)
        if decided.applied:
            counts.append((message, decided.outcomes, decided.at))
            observed.append(observation(message, change.status, decided.at))
            event = events.message_status_event(message)
            if event is not None:
                published.append(event)
    instances = {change.message.pk: change.message for change in transitions}
    for pk, fields in fields_of.items():
        changed.setdefault(tuple(sorted(fields)), {})[pk] = instances[pk]
    for fields_changed, messages in changed.items():
        rows_update(list(messages.values()), fields_changed)
    MessageStatusEvent.objects.bulk_create(history)
    stats.count_many(counts)
    events.events_publish(published)
    observe_on_commit(observed)
    return applied


def message_expire(message: Message, *, source: str) -> None:
    """Fail a message that was not sent within its time to live."""
    message_transition(
        message, Message.Status.FAILED, source=source, detail="expired", error=EXPIRED
    )


def _locked(message: Message) -> Message:
    return (
        Message.objects.select_for_update(of=("self",), no_key=True)
        .select_related("handle")
        .get(pk=message.pk)
    )


@transaction.atomic
def message_retry(*, message: Message) -> Message:
    """Send a failed message again: same id, back in the queue, attempts + 1."""
    message = _locked(message)
    if message.status != Message.Status.FAILED or message.direction != Message.Direction.OUTBOUND:
        raise Conflict(
            f"Only a failed outbound message can be retried; this one is {message.status}."
        )
    if message.handle.account_id != message.account_id:
        raise InvalidFromHandle(
            "This message's handle is no longer assigned to your account; send it anew."
        )
    # A new attempt: the last one's times and network id stay in the history only.
    message.attempts += 1
    message.error_code = ""
    message.error_message = ""
    message.queued_at = timezone.now()
    message.job = None
    message.upstream_id = None
    for time_field in TIME_FIELD.values():
        setattr(message, time_field, None)
    message.save(
        update_fields=[
            "attempts",
            "error_code",
            "error_message",
            "queued_at",
            "job",
            "upstream_id",
            *TIME_FIELD.values(),
        ]
    )
    message_transition(message, Message.Status.QUEUED, source="api", detail="retry", force=True)
    dispatch_soon(message.handle_id)
    return message


@transaction.atomic
def message_cancel(*, message: Message) -> Message:
    """Stop a scheduled or queued message: it fails with `canceled` and never goes out."""
    message = _locked(message)
    if message.status not in (Message.Status.SCHEDULED, Message.Status.QUEUED):
        raise Conflict(
            f"Only a scheduled or queued message can be canceled; this one is {message.status}."
        )
    message_transition(
        message,
        Message.Status.FAILED,
        source="api",
        detail="canceled",
        error={"code": "canceled", "message": "Canceled before it was sent."},
    )
    return message
