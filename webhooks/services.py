"""Webhooks' writes: the event outbox other apps publish to, endpoints, fan-out and delivery.

`event_publish` writes the event in the caller's transaction and fans it out once that
commits; the sweeper (beat) catches any fan-out or attempt a lost broker message dropped.
Work is enqueued in one place, `_enqueue_after_commit`, by task name: this module never
imports `webhooks.tasks` (which imports it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from contract.errors import InvalidRequest
from webhooks.delivery import DISABLE_AFTER, RETRY_DELAYS, AttemptOutcome, post
from webhooks.events import EVENT_TYPES, webhook_test_data
from webhooks.models import DeliveryAttempt, Event, WebhookDelivery, WebhookEndpoint
from webhooks.signing import new_secret
from webhooks.urls_safety import check_webhook_url

# Longer than one attempt can take (10 s), so a claimed attempt is never run twice at once;
# a worker that dies mid-attempt leaves it due again after this.
ATTEMPT_LEASE = timedelta(seconds=20)
FAN_OUT_TASK = "webhooks.tasks.event_fan_out"
DELIVER_TASK = "webhooks.tasks.webhook_deliver"


def _enqueue_after_commit(task_name: str, ids: list[str]) -> None:
    """Run webhooks' task `task_name` for each id once the caller's transaction commits
    (at once outside one); never for work that is rolled back."""

    def enqueue() -> None:
        for object_id in ids:
            current_app.send_task(task_name, args=(object_id,))

    # robust: a broker that cannot take it does not undo committed work; the sweeper enqueues it.
    transaction.on_commit(enqueue, robust=True)


def event_publish(
    *, account: Account | str, type: str, data: dict[str, Any], subject: str = ""
) -> Event:
    """Record that `type` happened to `data`; delivered to the account's webhooks later.

    Call it inside the transaction that made the change: the event exists if and only if
    the change does. `subject` names what it is about (a message id, say), for lookups.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    account_id = account if isinstance(account, str) else account.pk
    event = Event.objects.create(account_id=account_id, type=type, data=data, subject=subject)
    _enqueue_after_commit(FAN_OUT_TASK, [event.pk])
    return event


@contextmanager
def endpoint_slot(endpoint_id: str) -> Iterator[bool]:
    """Hold one of the endpoint's concurrent-attempt slots, if one is free (shared cache).

    An endpoint has `SWITCHBOARD_WEBHOOK_ENDPOINT_CONCURRENCY` slots across all delivery
    workers, a small share of their thread pool: receivers that never answer hold only their
    own slots' threads, and the rest of the pool keeps delivering to everyone else.
    One cache key a slot, taken with `add` and expiring with the attempt's lease: a worker
    that dies mid-attempt frees its slot by itself, and no counter can drift (the embedded
    file cache cannot increment atomically).
    """
    lease = int(ATTEMPT_LEASE.total_seconds())
    for index in range(int(settings.SWITCHBOARD_WEBHOOK_ENDPOINT_CONCURRENCY)):
        key = f"whk-slot:{endpoint_id}:{index}"
        if cache.add(key, 1, timeout=lease):
            try:
                yield True
            finally:
                cache.delete(key)
            return
    yield False


# --- endpoints -----------------------------------------------------------------------------

SECRET_OVERLAP = timedelta(hours=24)


def _check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES) - {"*"})
    if unknown or not events:
        raise InvalidRequest(
            f"Unknown event type: {unknown[0]}." if unknown else "events must not be empty.",
            fields={"events": [f"Unknown: {', '.join(unknown)}." if unknown else "Required."]},
        )
    return ["*"] if "*" in events else sorted(set(events))


def webhook_endpoint_create(
    *, account: Account, url: str, events: list[str], description: str = "", enabled: bool = True
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        account=account,
        url=check_webhook_url(url),
        events=_check_events(events),
        description=description,
        enabled=enabled,
        secret=new_secret(),
    )


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change url, events, description or enabled; enabling clears why it was disabled."""
    if "url" in changes:
        endpoint.url = check_webhook_url(changes["url"])
    if "events" in changes:
        endpoint.events = _check_events(changes["events"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "enabled" in changes:
        endpoint.enabled = changes["enabled"]
        if endpoint.enabled:
            endpoint.disabled_reason = ""
            endpoint.failing_since = None
    endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Stop sending to it and forget it, with its delivery log."""
    endpoint.delete()


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (beside the new) for 24 hours."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason=reason)
    endpoint.enabled = False
    endpoint.disabled_reason = reason


# --- fan-out and delivery ------------------------------------------------------------------


@transaction.atomic
def event_fan_out(*, event_id: str) -> int:
    """Make one delivery per enabled endpoint that wants the event (once); return how many."""
    event = Event.objects.select_for_update().filter(pk=event_id).first()
    if event is None or event.fanned_out_at is not None:
        return 0
    now = timezone.now()
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(account_id=event.account_id, enabled=True)
        if e.wants(event.type)
    ]
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(endpoint=e, event=event, next_attempt_at=now) for e in endpoints],
        ignore_conflicts=True,
    )
    event.fanned_out_at = now
    event.save(update_fields=["fanned_out_at"])
    _enqueue_after_commit(DELIVER_TASK, [d.pk for d in deliveries])
    return len(deliveries)


def _claim(delivery_id: str, now: datetime) -> WebhookDelivery | None:
    """Take a due delivery for one attempt (compare-and-swap on its due time)."""
    lease_until = now + ATTEMPT_LEASE
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease_until)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)


def webhook_deliver(*, delivery_id: str) -> str:
    """Make one attempt of a due delivery, if it is due and its endpoint has room."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return "not due"
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, finished_at=now
        )
        return "endpoint disabled"
    with endpoint_slot(endpoint.pk) as got_slot:
        if not got_slot:
            # The endpoint has its share of the workers: this thread goes back to the others,
            # the attempt is not spent and stays due (the endpoint's next finished attempt,
            # or the sweep, enqueues it again).
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now)
            return "endpoint busy"
        if not connection.in_atomic_block:
            connection.close()  # no database connection held through a 10 s HTTP call
        outcome = post(delivery, now=now)
    _record(delivery, outcome)
    _enqueue_next_due(endpoint.pk)
    return "succeeded" if outcome.succeeded else "failed"


def _enqueue_next_due(endpoint_id: str) -> None:
    """A slot of the endpoint is free again: enqueue its oldest due deliveries (as many as
    it has slots, so two attempts finishing together do not pick the same one alone), so a
    burst to one endpoint flows through its slots rather than waiting for the sweep.
    A delivery enqueued twice is attempted once (`_claim`)."""
    due = (
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id,
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=timezone.now(),
        )
        .order_by("created_at", "id")
        .values_list("id", flat=True)
    )
    _enqueue_after_commit(
        DELIVER_TASK, list(due[: int(settings.SWITCHBOARD_WEBHOOK_ENDPOINT_CONCURRENCY)])
    )


@transaction.atomic
def _record(delivery: WebhookDelivery, outcome: AttemptOutcome) -> None:
    now = timezone.now()
    delivery.attempts += 1
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        at=now,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        response_excerpt=outcome.excerpt,
        error=outcome.error,
        succeeded=outcome.succeeded,
    )
    endpoint = delivery.endpoint
    if outcome.succeeded:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.finished_at = now
        delivery.next_attempt_at = None
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
    elif outcome.status_code == 410:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.finished_at = now
        delivery.next_attempt_at = None
        _disable(endpoint, "The endpoint answered 410 Gone.")
    else:
        failing_since = endpoint.failing_since or now
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        if now - failing_since >= DISABLE_AFTER:
            _disable(endpoint, "Every attempt failed for 5 days.")
        retries_used = delivery.attempts - 1
        if retries_used >= len(RETRY_DELAYS) or not endpoint.enabled:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.finished_at = now
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + RETRY_DELAYS[retries_used]
    delivery.save(update_fields=["attempts", "status", "finished_at", "next_attempt_at"])


def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the event again now (same webhook-id): one more attempt, whatever it was."""
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=now, finished_at=None
    )
    delivery.refresh_from_db()
    _enqueue_after_commit(DELIVER_TASK, [delivery.pk])
    return delivery


@transaction.atomic
def webhook_endpoint_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a `webhook.test` event to this endpoint only."""
    now = timezone.now()
    event = Event.objects.create(
        account_id=endpoint.account_id,
        type="webhook.test",
        data=webhook_test_data(endpoint_id=endpoint.id),
        fanned_out_at=now,
    )
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, next_attempt_at=now)
    _enqueue_after_commit(DELIVER_TASK, [delivery.pk])
    return delivery


# The sweep tops the delivery queue up; it does not pile on. With this many tasks already
# waiting, what is due is (all but surely) among them, and copies would only be "not due"
# no-ops in the way of the real work: a burst of 4,000 events after a fault made five of them
# for every attempt (tests/faults). Once the backlog is below this, whatever a lost broker
# message or a dead worker dropped is enqueued again.
SWEEP_BACKLOG_LIMIT = 200


def _waiting_in_queue(task_name: str) -> int | None:
    """How many messages wait in the broker queue `task_name` is routed to; None if unknown."""
    queue = current_app.amqp.router.route({}, task_name)["queue"].name
    try:
        with current_app.connection_for_read() as conn:
            channel: Any = conn.default_channel  # kombu's channels all declare queues
            declared = channel.queue_declare(queue=queue, passive=True)
            return int(declared.message_count)
    except Exception:  # an empty queue does not exist in Redis; a broker away: sweep anyway
        return None


def deliveries_sweep() -> int:
    """Fan out events whose fan-out was lost and enqueue every delivery that is due
    (unless the delivery queue is backlogged: then what is due is already in it)."""
    waiting = _waiting_in_queue(DELIVER_TASK)
    if waiting is not None and waiting >= SWEEP_BACKLOG_LIMIT:
        return 0
    now = timezone.now()
    lost = Event.objects.filter(
        fanned_out_at__isnull=True, created_at__lt=now - timedelta(seconds=5)
    ).values_list("id", flat=True)[:1000]
    _enqueue_after_commit(FAN_OUT_TASK, list(lost))
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        ).values_list("id", flat=True)[:1000]
    )
    _enqueue_after_commit(DELIVER_TASK, due)
    return len(due)
