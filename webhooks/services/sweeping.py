"""The sweep behind delivery, and the fan-out of events an older version published.

The sweep (beat) wakes each endpoint that has due deliveries (retries, and work a dead
worker or a lost broker message dropped); a wake finds the marker of a task already queued
and adds nothing, so a backlog never multiplies its tasks. Events published without their
deliveries (only an older version did that) get them here, once.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from webhooks.services.publish import endpoint_wake, endpoint_wake_on_commit

# Still registered, for messages an older version queued: they are handled by the new path.
FAN_OUT_TASK = "webhooks.tasks.event_fan_out"


@transaction.atomic
def _fan_out(event_ids: list[str]) -> int:
    """Make the deliveries of events published without them (by an older version); once."""
    now = timezone.now()
    events = list(
        Event.objects.select_for_update(skip_locked=True)
        .filter(pk__in=event_ids, fanned_out_at__isnull=True)
        .order_by()
        .only("id", "account_id", "type")
    )
    if not events:
        return 0
    endpoints = list(
        WebhookEndpoint.objects.filter(
            account_id__in={e.account_id for e in events}, enabled=True
        ).only("id", "account_id", "events")
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now)
            for event in events
            for endpoint in endpoints
            if endpoint.account_id == event.account_id and endpoint.wants(event.type)
        ],
        ignore_conflicts=True,
    )
    Event.objects.filter(pk__in=[e.pk for e in events]).update(fanned_out_at=now)
    endpoint_wake_on_commit(d.endpoint_id for d in deliveries)
    return len(deliveries)


def event_fan_out(*, event_id: str) -> int:
    """Make one delivery per enabled endpoint that wants the event (once); return how many.
    Only events an older version published need it: `event_publish` fans out itself."""
    return _fan_out([event_id])


# Events older than this without their deliveries were published by an older version (whose
# fan-out task may be lost): the sweep fans them out.
FAN_OUT_GRACE = timedelta(seconds=5)
SWEEP_LIMIT = 1000


def deliveries_sweep() -> int:
    """Wake every endpoint with due deliveries (retries, and work a dead worker or a lost
    broker message dropped) that has no drain task queued; return how many were woken.
    Also fans out events an older version published without their deliveries."""
    now = timezone.now()
    lost = list(
        Event.objects.filter(fanned_out_at__isnull=True, created_at__lt=now - FAN_OUT_GRACE)
        .order_by()
        .values_list("id", flat=True)[:SWEEP_LIMIT]
    )
    if lost:
        _fan_out(lost)
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .order_by()
        .values_list("endpoint_id", flat=True)
        .distinct()[:SWEEP_LIMIT]
    )
    return endpoint_wake(due)
