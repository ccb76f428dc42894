"""Webhook delivery; the database is the record, these only do the work.

Services enqueue these by name (`webhooks.services.endpoint_wake`); beat runs the sweep.
All run on the `webhooks` queue (CELERY_TASK_ROUTES), in the delivery worker's thread pool:
each thread lets go of its database connection when its task ends (and during a drain's HTTP
calls), so a pool of dozens of threads mostly waiting on receivers holds a connection only
while it uses one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery import shared_task
from django.db import connections

from webhooks import services


@contextmanager
def _connection_released() -> Iterator[None]:
    """Close this thread's database connections when the task ends (not inside a
    transaction someone else opened, as in a test calling the task directly)."""
    try:
        yield
    finally:
        for conn in connections.all(initialized_only=True):
            if not conn.in_atomic_block:
                conn.close()


@shared_task
def endpoint_drain(endpoint_id: str) -> dict[str, int]:
    """Deliver an endpoint's due deliveries in batches (a bounded time), in one of its slots."""
    with _connection_released():
        return {"attempts": services.endpoint_drain(endpoint_id=endpoint_id)}


@shared_task
def event_fan_out(event_id: str) -> dict[str, int]:
    """Create the deliveries of one event an older version published (once)."""
    with _connection_released():
        return {"deliveries": services.event_fan_out(event_id=event_id)}


@shared_task
def webhook_deliver(delivery_id: str) -> dict[str, str]:
    """Make one attempt of a delivery, if it is due (older versions queued these)."""
    with _connection_released():
        return {"result": services.webhook_deliver(delivery_id=delivery_id)}


@shared_task
def deliveries_sweep() -> dict[str, int]:
    """Wake every endpoint with due deliveries and no drain queued (retries, lost work)."""
    with _connection_released():
        return {"woken": services.deliveries_sweep()}
