"""Fan-out and delivery of webhook events, per endpoint (woken by `publish.endpoint_wake`).

A drain holds one of the endpoint's slots (`endpoint_slot`), claims a batch of its due
deliveries with one `UPDATE … RETURNING` (a lease: a claimed delivery is not due again for
`ATTEMPT_LEASE`), POSTs them one after the other over one keep-alive connection, records the
batch in one transaction, and loops for at most `DRAIN_SECONDS`; once it lets go of its slot
it looks again, and wakes the endpoint if anything is due. No database connection is held
during the HTTP calls.

What a drain needs that nobody woke it for is found by the sweep (`sweeping`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from contract import metrics
from webhooks.delivery import (
    DISABLE_AFTER,
    RETRY_DELAYS,
    AttemptOutcome,
    event_body,
    post_body,
    valid_secrets,
)
from webhooks.events import webhook_test_data
from webhooks.models import (
    DeliveryAttempt,
    Event,
    WebhookDelivery,
    WebhookEndpoint,
)
from webhooks.services.endpoints import endpoint_disable
from webhooks.services.publish import endpoint_wake, endpoint_wake_on_commit, endpoint_wake_taken

# Longer than one attempt can take (10 s), so a claimed attempt is never run twice at once;
# a worker that dies mid-attempt leaves it due again after this.
ATTEMPT_LEASE = timedelta(seconds=20)
# A batch's attempts start within this long of its claim, so the last ends within the lease;
# the rest of the batch (a receiver gone slow) goes back, due at once.
BATCH_POST_WINDOW = 5.0
DRAIN_BATCH = 50
# A drain task lets its thread go after this long (then wakes its endpoint again if work is
# left): a busy endpoint takes its turn in the queue with the others.
DRAIN_SECONDS = 10.0
DELIVER_TASK = "webhooks.tasks.webhook_deliver"


@contextmanager
def endpoint_slot(endpoint_id: str) -> Iterator[str | None]:
    """Hold one of the endpoint's concurrent-attempt slots, if one is free (shared cache):
    yields the slot's key (`_slot_refresh` extends it), or None if every slot is taken.

    An endpoint has `SWITCHBOARD_WEBHOOK_ENDPOINT_CONCURRENCY` slots across all delivery
    workers, a small share of their thread pool: receivers that never answer hold only their
    own slots' threads, and the rest of the pool keeps delivering to everyone else.
    One cache key a slot, taken with `add` and expiring with the attempt's lease (a drain
    extends it with each batch it claims): a worker that dies mid-attempt frees its slot by
    itself, and no counter can drift (the embedded file cache cannot increment atomically).
    """
    lease = int(ATTEMPT_LEASE.total_seconds())
    for index in range(int(settings.SWITCHBOARD_WEBHOOK_ENDPOINT_CONCURRENCY)):
        key = f"whk-slot:{endpoint_id}:{index}"
        if cache.add(key, 1, timeout=lease):
            try:
                yield key
            finally:
                cache.delete(key)
            return
    yield None


def _slot_refresh(key: str) -> None:
    cache.touch(key, int(ATTEMPT_LEASE.total_seconds()))


@dataclass(frozen=True)
class _Claimed:
    """A delivery taken for one attempt, with what the attempt needs."""

    id: str
    endpoint_id: str
    attempts: int
    event_id: str
    body: bytes


def _claim(
    *, now: datetime, endpoint_id: str = "", delivery_id: str = "", limit: int = 1
) -> list[_Claimed]:
    """Take up to `limit` due deliveries (of one endpoint, or one by id), oldest due first, for
    one attempt each: one statement, a compare-and-swap on their due time (rows another
    drain is taking are skipped), returning each with its event."""
    lease_until = now + ATTEMPT_LEASE
    if connection.vendor != "postgresql":
        return _claim_portably(
            now=now, endpoint_id=endpoint_id, delivery_id=delivery_id, limit=limit
        )
    deliveries, events = WebhookDelivery._meta.db_table, Event._meta.db_table
    which = "endpoint_id = %s" if endpoint_id else "id = %s"
    # Only table names and placeholders are formatted in; every value is a parameter.
    sql = (
        f"UPDATE {deliveries} AS d SET next_attempt_at = %s "  # noqa: S608
        f"FROM (SELECT id FROM {deliveries} WHERE {which} AND status = %s "
        "AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s "
        f"FOR UPDATE SKIP LOCKED) AS due, {events} AS e "
        "WHERE d.id = due.id AND e.id = d.event_id "
        "RETURNING d.id, d.endpoint_id, d.attempts, e.id, e.type, e.created_at, e.data"
    )
    params: list[Any] = [
        lease_until,
        endpoint_id or delivery_id,
        WebhookDelivery.Status.PENDING,
        now,
        limit,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    rows.sort(key=lambda row: (row[5], row[0]))
    return [
        _Claimed(
            id=row[0],
            endpoint_id=row[1],
            attempts=row[2],
            event_id=row[3],
            body=event_body(event_id=row[3], type=row[4], created_at=row[5], data=row[6]),
        )
        for row in rows
    ]


def _claim_portably(
    *, now: datetime, endpoint_id: str, delivery_id: str, limit: int
) -> list[_Claimed]:
    """`_claim` with the ORM (SQLite, the embedded mode): a compare-and-swap per delivery."""
    lease_until = now + ATTEMPT_LEASE
    due = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    )
    due = due.filter(endpoint_id=endpoint_id) if endpoint_id else due.filter(pk=delivery_id)
    ids = list(due.order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
    taken = [pk for pk in ids if due.filter(pk=pk).update(next_attempt_at=lease_until)]
    claimed = WebhookDelivery.objects.filter(pk__in=taken).select_related("event")
    return [
        _Claimed(
            id=d.pk,
            endpoint_id=d.endpoint_id,
            attempts=d.attempts,
            event_id=d.event_id,
            body=event_body(
                event_id=d.event_id,
                type=d.event.type,
                created_at=d.event.created_at,
                data=d.event.data,
            ),
        )
        for d in sorted(claimed, key=lambda d: (d.event.created_at, d.pk))
    ]


def _release_connection() -> None:
    """No database connection held through HTTP calls (to the pool, if one is configured);
    not inside a transaction someone else opened (a test calling this directly)."""
    if not connection.in_atomic_block:
        connection.close()


@dataclass(frozen=True)
class _Attempted:
    claimed: _Claimed
    at: datetime
    outcome: AttemptOutcome


def _attempt(
    endpoint: WebhookEndpoint, claimed: list[_Claimed], *, now: datetime
) -> list[_Attempted]:
    """POST the claimed deliveries one after the other, over one keep-alive connection, and
    record them; those not started within `BATCH_POST_WINDOW` go back, due at once."""
    lease_until = now + ATTEMPT_LEASE
    secrets = valid_secrets(endpoint, now)
    started = time.monotonic()
    _release_connection()
    attempted: list[_Attempted] = []
    for item in claimed:
        if attempted and time.monotonic() - started > BATCH_POST_WINDOW:
            break
        at = timezone.now()
        outcome = post_body(
            url=endpoint.url, secrets=secrets, event_id=item.event_id, body=item.body, now=at
        )
        attempted.append(_Attempted(item, at, outcome))
        if outcome.status_code == 410:
            break  # the endpoint is disabled: the rest go back, and fail with it
    # Counted as made, whether or not recording them commits: the receiver got them.
    metrics.webhook_attempts_observe(
        (a.outcome.status_code, a.outcome.duration_ms / 1000) for a in attempted
    )
    _record(endpoint, attempted, unattempted=claimed[len(attempted) :], lease_until=lease_until)
    return attempted


@transaction.atomic
def _record(
    endpoint: WebhookEndpoint,
    attempted: list[_Attempted],
    *,
    unattempted: list[_Claimed],
    lease_until: datetime,
) -> None:
    """Log the attempts and move each delivery on (done, or due again on its schedule); keep
    the endpoint's failing-since time; disable it on 410 or after 5 days of failures."""
    now = timezone.now()
    DeliveryAttempt.objects.bulk_create(
        [
            DeliveryAttempt(
                delivery_id=a.claimed.id,
                number=a.claimed.attempts + 1,
                at=a.at,
                status_code=a.outcome.status_code,
                duration_ms=a.outcome.duration_ms,
                response_excerpt=a.outcome.excerpt,
                error=a.outcome.error,
                succeeded=a.outcome.succeeded,
            )
            for a in attempted
        ]
    )
    failing_since = endpoint.failing_since
    cleared = False
    disabled_reason = ""
    # (status, next attempt, finished) -> the deliveries that move there
    moves: dict[tuple[str, datetime | None, datetime | None], list[str]] = {}
    for a in attempted:
        outcome = a.outcome
        move: tuple[str, datetime | None, datetime | None]
        if outcome.succeeded:
            move = (WebhookDelivery.Status.SUCCEEDED.value, None, now)
            failing_since, cleared = None, True
        elif outcome.status_code == 410:
            move = (WebhookDelivery.Status.FAILED.value, None, now)
            disabled_reason = disabled_reason or "The endpoint answered 410 Gone."
        else:
            failing_since = failing_since or now
            if now - failing_since >= DISABLE_AFTER:
                disabled_reason = disabled_reason or "Every attempt failed for 5 days."
            retries_used = a.claimed.attempts
            if retries_used >= len(RETRY_DELAYS) or disabled_reason:
                move = (WebhookDelivery.Status.FAILED.value, None, now)
            else:
                move = (
                    WebhookDelivery.Status.PENDING.value,
                    now + RETRY_DELAYS[retries_used],
                    None,
                )
        moves.setdefault(move, []).append(a.claimed.id)
    for (status, next_attempt_at, finished_at), ids in moves.items():
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=status,
            attempts=F("attempts") + 1,
            next_attempt_at=next_attempt_at,
            finished_at=finished_at,
        )
    if unattempted:
        WebhookDelivery.objects.filter(
            pk__in=[c.id for c in unattempted],
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=lease_until,
        ).update(next_attempt_at=now)
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if failing_since is None and cleared:
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
    elif failing_since is not None and cleared:
        endpoints.update(failing_since=failing_since)
    elif failing_since is not None and endpoint.failing_since is None:
        endpoints.filter(failing_since__isnull=True).update(failing_since=failing_since)
    endpoint.failing_since = failing_since
    if disabled_reason:
        endpoint_disable(endpoint, disabled_reason)


def _fail_due_of_disabled(endpoint_id: str, now: datetime) -> int:
    return WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(status=WebhookDelivery.Status.FAILED, finished_at=now, next_attempt_at=None)


def _has_due(endpoint_id: str) -> bool:
    return WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id,
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=timezone.now(),
    ).exists()


def endpoint_drain(*, endpoint_id: str) -> int:
    """Deliver the endpoint's due deliveries in batches, for at most `DRAIN_SECONDS`, in one
    of its slots; return how many attempts were made. Without a free slot it does nothing:
    each drain that holds one looks for due work again once it lets go, and wakes the
    endpoint if there is any (so nothing waits for the sweep)."""
    endpoint_wake_taken(endpoint_id)
    made = 0
    with endpoint_slot(endpoint_id) as slot:
        if slot is None:
            return 0
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
            if endpoint is None:
                return made  # deleted, with its deliveries
            now = timezone.now()
            if not endpoint.enabled:
                _fail_due_of_disabled(endpoint_id, now)
                break
            claimed = _claim(now=now, endpoint_id=endpoint_id, limit=DRAIN_BATCH)
            if not claimed:
                break
            if len(claimed) == DRAIN_BATCH:
                endpoint_wake([endpoint_id])  # more to do: another of its slots may help
            _slot_refresh(slot)
            made += len(_attempt(endpoint, claimed, now=now))
    if _has_due(endpoint_id):
        endpoint_wake([endpoint_id])
    return made


def webhook_deliver(*, delivery_id: str) -> str:
    """Make one attempt of a due delivery, if it is due and its endpoint has room."""
    now = timezone.now()
    claimed = _claim(now=now, delivery_id=delivery_id)
    if not claimed:
        return "not due"
    endpoint = WebhookEndpoint.objects.get(pk=claimed[0].endpoint_id)
    if not endpoint.enabled:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.FAILED, finished_at=now, next_attempt_at=None
        )
        return "endpoint disabled"
    with endpoint_slot(endpoint.pk) as slot:
        if slot is None:
            # The endpoint has its share of the workers: the attempt is not spent and stays
            # due (the endpoint's drains look again when they finish, or the sweep wakes it).
            WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=now)
            return "endpoint busy"
        (attempt,) = _attempt(endpoint, claimed, now=now)
    return "succeeded" if attempt.outcome.succeeded else "failed"


def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the event again now (same webhook-id): one more attempt, whatever it was."""
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=now, finished_at=None
    )
    delivery.refresh_from_db()
    endpoint_wake_on_commit([delivery.endpoint_id])
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
    endpoint_wake_on_commit([endpoint.pk])
    return delivery
