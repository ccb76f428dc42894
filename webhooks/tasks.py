"""Webhook fan-out and delivery; the database is the record, these only do the work.

Services enqueue these by name (`webhooks.services._enqueue_after_commit`); beat runs the
sweep.
"""

from __future__ import annotations

from celery import shared_task

from webhooks import services


@shared_task
def event_fan_out(event_id: str) -> dict[str, int]:
    """Create the deliveries of one event (once) and enqueue them."""
    return {"deliveries": services.event_fan_out(event_id=event_id)}


@shared_task
def webhook_deliver(delivery_id: str) -> dict[str, str]:
    """Make one attempt of a delivery, if it is due."""
    return {"result": services.webhook_deliver(delivery_id=delivery_id)}


@shared_task
def deliveries_sweep() -> dict[str, int]:
    """Enqueue every due delivery (retries, and attempts lost with a worker or a broker)."""
    return {"due": services.deliveries_sweep()}
