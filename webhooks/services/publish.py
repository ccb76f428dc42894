"""The event outbox other apps publish to, and waking an endpoint's delivery.

Publishing is cheap and fans out at once. `event_publish` / `event_publish_many` write the
events in the caller's transaction together with one delivery per enabled endpoint of the
account that wants the type (the endpoints are read by the same statement that inserts the
events): an event exists with its deliveries or not at all, and an account with no such
endpoint pays one statement per call and nothing else (no task, no Redis). An endpoint
receives the events created after it exists. `fanned_out_at` is set when the deliveries are
made; only events an older version published can lack it, and the sweep fans those out.

`endpoint_wake` queues one `endpoint_drain` task for the endpoint unless one is queued already
(a marker in the shared cache, `SET NX` with a TTL), so a burst of events is one task, not one
per event. Work is enqueued in this one place, by task name: this package never imports
`webhooks.tasks` (which imports it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from contract.transactions import before_commit_ctes
from webhooks.events import EVENT_TYPES
from webhooks.models import (
    Event,
    WebhookDelivery,
    WebhookEndpoint,
    new_event_id,
)

# How long "a drain task of this endpoint is queued" is believed without the task starting:
# a task lost with its broker message is replaced by the sweep after this.
WAKE_MARKER_SECONDS = 60
# Publishing inserts at most this many events a statement.
PUBLISH_CHUNK = 500
DRAIN_TASK = "webhooks.tasks.endpoint_drain"


def _wake_marker(endpoint_id: str) -> str:
    return f"whk-wake:{endpoint_id}"


def endpoint_wake(endpoint_ids: Iterable[str]) -> int:
    """Queue a drain task for each endpoint that has none queued yet; return how many.

    At once: callers inside a transaction use `endpoint_wake_on_commit`. A broker that refuses
    the task leaves no marker behind, so the next wake (or the sweep) tries again.
    """
    sent = 0
    for endpoint_id in endpoint_ids:
        marker = _wake_marker(endpoint_id)
        if not cache.add(marker, 1, timeout=WAKE_MARKER_SECONDS):
            continue  # a drain task is queued and has not started: it will see this work
        try:
            current_app.send_task(DRAIN_TASK, args=(endpoint_id,))
        except Exception:
            cache.delete(marker)
            raise
        sent += 1
    return sent


def endpoint_wake_taken(endpoint_id: str) -> None:
    """A drain of the endpoint has started: forget its marker, so that work published from
    now on queues another task instead of trusting this one to see it."""
    cache.delete(_wake_marker(endpoint_id))


def endpoint_wake_on_commit(endpoint_ids: Iterable[str]) -> None:
    """Wake the endpoints once the caller's transaction commits (at once outside one);
    never for work that is rolled back."""
    ids = sorted(set(endpoint_ids))
    if ids:
        # robust: a broker that cannot take it does not undo committed work; the sweep wakes it.
        transaction.on_commit(lambda: endpoint_wake(ids), robust=True)


def event_publish(
    *, account: Account | str, type: str, data: dict[str, Any], subject: str = ""
) -> Event:
    """Record that `type` happened to `data`; delivered to the account's webhooks later.

    Call it inside the transaction that made the change: the event (with its deliveries)
    exists if and only if the change does. `subject` names what it is about (a message id,
    say), for lookups.
    """
    (event,) = event_publish_many(
        events=[{"account": account, "type": type, "data": data, "subject": subject}]
    )
    return event


@dataclass(frozen=True)
class Along:
    """The caller's own writes, to run in the statement that publishes its events: each of
    `ctes` is `name AS (INSERT/UPDATE …)`, a data-modifying CTE; `params` are theirs, in
    order. One round trip for the caller's change and its events (PostgreSQL only)."""

    ctes: Sequence[str]
    params: Sequence[Any]


def event_publish_many(
    *, events: Sequence[Mapping[str, Any]], along: Along | None = None, late: bool = False
) -> list[Event]:
    """`event_publish` for several events at once, each a mapping of its arguments
    (`account`, `type`, `data`, optional `subject`); returns the events in the order given.

    On PostgreSQL one statement (per `PUBLISH_CHUNK` events) inserts the events and their
    deliveries, whatever the number of endpoints: atomic by itself, inside the caller's
    transaction or not. Delivery ids made there are `dlv_` and 32 hex digits (122 random
    bits, `gen_random_uuid()`), not base62: opaque all the same. `along` rides with the
    first of those statements. `late`: the statement is left to the end of the caller's
    all-or-nothing transaction where there is one (`contract.transactions`), to ride with
    its last statement, when nothing in the transaction reads the events.
    """
    if along is not None and (connection.vendor != "postgresql" or not events):
        raise ValueError("`along` needs PostgreSQL and at least one event")
    made: list[Event] = []
    now = timezone.now()
    for item in events:
        if item["type"] not in EVENT_TYPES:
            raise ValueError(f"unknown event type {item['type']!r}")
        account = item["account"]
        event = Event(
            id=new_event_id(),
            account_id=account if isinstance(account, str) else account.pk,
            type=item["type"],
            data=item["data"],
            subject=item.get("subject", ""),
            created_at=now,
            fanned_out_at=now,
        )
        event._state.adding = False
        event._state.db = "default"
        made.append(event)
    if not made:
        return made
    if connection.vendor != "postgresql":
        endpoint_wake_on_commit(_publish_portably(made))
        return made
    if late and len(made) <= PUBLISH_CHUNK:
        ctes, params = _publish_ctes(made, along)
        if before_commit_ctes(
            ctes,
            params,
            result="(SELECT array_agg(DISTINCT endpoint_id) FROM made)",
            on_result=lambda endpoint_ids: endpoint_wake_on_commit(endpoint_ids or ()),
        ):
            return made
    woken: set[str] = set()
    for start in range(0, len(made), PUBLISH_CHUNK):
        woken |= _publish_in_one_statement(
            made[start : start + PUBLISH_CHUNK], along if start == 0 else None
        )
    endpoint_wake_on_commit(woken)
    return made


def _publish_in_one_statement(events: list[Event], along: Along | None = None) -> set[str]:
    """INSERT the events and, in the same statement, one delivery per enabled endpoint of
    their account that wants the type (and the caller's writes, `along`); the endpoints
    that got deliveries."""
    ctes, params = _publish_ctes(events, along)
    with connection.cursor() as cursor:
        sql = f"WITH {', '.join(ctes)} SELECT DISTINCT endpoint_id FROM made"  # noqa: S608
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _publish_ctes(events: list[Event], along: Along | None) -> tuple[list[str], list[Any]]:
    """The events' INSERT and their deliveries' (`new_events`, `made`), after the caller's
    writes `along`, as data-modifying CTEs; and their parameters."""
    columns = "id, account_id, type, subject, data, created_at, fanned_out_at"
    params: list[Any] = [*(along.params if along else ())]
    for event in events:
        params += [
            event.id,
            event.account_id,
            event.type,
            event.subject,
            json.dumps(event.data),
            event.created_at,
            event.fanned_out_at,
        ]
    values = ", ".join(["(%s, %s, %s, %s, %s::jsonb, %s, %s)"] * len(events))
    # Only table names and placeholders are formatted in; every value is a parameter.
    new_events = (
        f"new_events AS (INSERT INTO {Event._meta.db_table} ({columns}) "  # noqa: S608
        f"VALUES {values} RETURNING id, account_id, type, created_at)"
    )
    made = (
        f"made AS (INSERT INTO {WebhookDelivery._meta.db_table} "  # noqa: S608
        "(id, endpoint_id, event_id, status, attempts, next_attempt_at, created_at) "
        "SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), w.id, e.id, %s, 0, "
        "e.created_at, e.created_at "
        f"FROM new_events e JOIN {WebhookEndpoint._meta.db_table} w "
        "ON w.account_id = e.account_id AND w.enabled "
        "AND (w.events @> '[\"*\"]'::jsonb OR w.events @> jsonb_build_array(e.type)) "
        "RETURNING endpoint_id)"
    )
    ctes = [*(along.ctes if along else ()), new_events, made]
    return ctes, [*params, WebhookDelivery.Status.PENDING.value]


def _publish_portably(events: list[Event]) -> set[str]:
    """The same with the ORM (SQLite, the embedded mode): a few statements, one transaction."""
    with transaction.atomic(savepoint=False):
        Event.objects.bulk_create(events)
        endpoints = list(
            WebhookEndpoint.objects.filter(
                account_id__in={e.account_id for e in events}, enabled=True
            ).only("id", "account_id", "events")
        )
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    endpoint_id=endpoint.pk,
                    event_id=event.pk,
                    next_attempt_at=event.created_at,
                    created_at=event.created_at,
                )
                for event in events
                for endpoint in endpoints
                if endpoint.account_id == event.account_id and endpoint.wants(event.type)
            ]
        )
    return {d.endpoint_id for d in deliveries}
