"""What needs an operator right now, read for the overview and /metrics in bounded queries.

Every query here costs the same whatever the size of the messages, deliveries or events
tables: each reads a partial index over the few rows in the state it looks for (queued,
sending, failed in the last hour, endpoints failing), or the handles and devices tables
(one row per number), and each card is LIMITed to `SWITCHBOARD_OVERVIEW_ROWS` rows (one more
is read to know that there are more). A queue is counted up to `DEPTH_COUNTED_UP_TO`
messages per handle, so a runaway backlog costs a bounded index scan, not a count of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Case, Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from handles.models import Device, Handle
from messaging import selectors as message_selectors
from messaging.models import Message
from webhooks.models import WebhookEndpoint

# A queue deeper than this is shown as "10,000+" and exported as 10,000 (docs/operations.md).
DEPTH_COUNTED_UP_TO = 10_000


@dataclass(frozen=True)
class Rows:
    """The first rows of a card, and whether there are more than those."""

    rows: list[Any]
    more: bool


def _first(queryset: QuerySet[Any] | list[Any], limit: int | None = None) -> Rows:
    limit = limit or int(settings.SWITCHBOARD_OVERVIEW_ROWS)
    rows = list(queryset[: limit + 1])
    return Rows(rows=rows[:limit], more=len(rows) > limit)


def handles_offline() -> Rows:
    """Assigned handles whose device stopped calling, the longest offline first."""
    return _first(
        Handle.objects.filter(account__isnull=False, status=Handle.Status.OFFLINE)
        .select_related("account")
        .order_by(F("status_changed_at").asc(nulls_first=True), "id")
    )


def handles_unhealthy() -> Rows:
    """Assigned handles whose line health is not healthy: critical first, then the longest in
    their state."""
    severity = Case(When(health=Handle.Health.CRITICAL, then=0), default=1)
    return _first(
        Handle.objects.filter(account__isnull=False)
        .exclude(health=Handle.Health.HEALTHY)
        .select_related("account")
        .order_by(severity, F("health_changed_at").asc(nulls_first=True), "id")
    )


def _queues() -> QuerySet[Handle]:
    """Assigned handles with `depth` (queued messages, counted up to DEPTH_COUNTED_UP_TO) and
    `oldest_queued_at`, each read from the `message_queue` partial index."""
    message_table = Message._meta.db_table
    handle_table = Handle._meta.db_table
    # Table names from the models, the cap a parameter: nothing here comes from a request.
    depth = RawSQL(  # noqa: S611
        f'SELECT COUNT(*) FROM (SELECT 1 FROM "{message_table}" m '  # noqa: S608
        f"WHERE m.handle_id = \"{handle_table}\".id AND m.status = 'queued' LIMIT %s) q",
        [DEPTH_COUNTED_UP_TO],
    )
    oldest = (
        Message.objects.filter(handle=OuterRef("pk"), status=Message.Status.QUEUED)
        .order_by("queued_at", "id")
        .values("queued_at")[:1]
    )
    return (
        Handle.objects.filter(account__isnull=False)
        .select_related("account")
        .annotate(depth=depth, oldest_queued_at=Subquery(oldest))
    )


def queues_backed_up(*, now: datetime | None = None) -> Rows:
    """Handles whose queue is deeper than SWITCHBOARD_OVERVIEW_QUEUE_DEPTH or whose oldest
    queued message waited longer than SWITCHBOARD_OVERVIEW_QUEUE_AGE_MINUTES; oldest first."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=int(settings.SWITCHBOARD_OVERVIEW_QUEUE_AGE_MINUTES))
    return _first(
        _queues()
        .filter(
            Q(depth__gt=int(settings.SWITCHBOARD_OVERVIEW_QUEUE_DEPTH))
            | Q(oldest_queued_at__lt=cutoff)
        )
        .order_by(F("oldest_queued_at").asc(nulls_last=True), "id")
    )


def queues_all() -> list[Handle]:
    """Every assigned handle with its queue's depth and oldest message (for /metrics)."""
    return list(_queues().order_by("id"))


def failures_last_hour(*, now: datetime | None = None) -> Rows:
    """Messages failed in the last hour, grouped by error code and account, most first.

    Rows are dicts: error_code, account_id, account__name, failed, last_failed_at."""
    since = (now or timezone.now()) - timedelta(hours=1)
    return _first(
        Message.objects.filter(status=Message.Status.FAILED, failed_at__gte=since)
        .values("error_code", "account_id", "account__name")
        .annotate(failed=Count("id"), last_failed_at=Max("failed_at"))
        .order_by("-failed", "error_code", "account_id")
    )


def messages_held() -> Rows:
    """Messages held for their handle's new-contact budget or line health (`scheduled`, no
    `send_at`), by handle and reason, the longest waiting first; from the `message_held`
    partial index.

    Rows are dicts: handle_id, handle__address, account_id, account__name, status_reason,
    held, oldest_held_at."""
    return _first(
        Message.objects.filter(status=Message.Status.SCHEDULED, send_at__isnull=True)
        .values("handle_id", "handle__address", "account_id", "account__name", "status_reason")
        .annotate(held=Count("id"), oldest_held_at=Min("created_at"))
        .order_by("oldest_held_at", "handle_id", "status_reason")
    )


def messages_stuck_sending(*, now: datetime | None = None) -> Rows:
    """Messages in `sending` for longer than SWITCHBOARD_SYNC_ACTION_TIMEOUT seconds (since
    their job was made), the longest first."""
    return _first(
        Message.objects.filter(message_selectors.stuck_in_sending(now=now))
        .select_related("account", "job")
        .order_by(F("job__created_at").asc(nulls_first=True), "id")
    )


def endpoints_failing() -> Rows:
    """Webhook endpoints failing (every attempt since `failing_since`) or disabled, the
    longest failing first."""
    return _first(
        WebhookEndpoint.objects.filter(Q(failing_since__isnull=False) | Q(enabled=False))
        .select_related("account")
        .order_by(F("failing_since").asc(nulls_last=True), "id")
    )


def devices_silent(*, now: datetime | None = None) -> Rows:
    """Live devices that have not called in SWITCHBOARD_DEVICE_OFFLINE_AFTER seconds (or
    never), the longest silent first."""
    cutoff = (now or timezone.now()) - timedelta(
        seconds=int(settings.SWITCHBOARD_DEVICE_OFFLINE_AFTER)
    )
    return _first(
        Device.objects.filter(revoked_at__isnull=True)
        .filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=cutoff))
        .select_related("handle", "handle__account")
        .order_by(F("last_seen_at").asc(nulls_first=True), "id")
    )


def devices_online(*, now: datetime | None = None) -> int:
    """Live devices that called within SWITCHBOARD_DEVICE_OFFLINE_AFTER seconds."""
    cutoff = (now or timezone.now()) - timedelta(
        seconds=int(settings.SWITCHBOARD_DEVICE_OFFLINE_AFTER)
    )
    return Device.objects.filter(revoked_at__isnull=True, last_seen_at__gte=cutoff).count()
