"""Webhook fan-out and delivery; the database is the record, these only do the work."""

from __future__ import annotations

from celery import shared_task


@shared_task
def event_fan_out(event_id: str) -> dict[str, int]:
    """Create the deliveries of one event (once) and enqueue them."""
    from webhooks import services

    return {"deliveries": services.event_fan_out(event_id=event_id)}


@shared_task
def webhook_deliver(delivery_id: str) -> dict[str, str]:
    """Make one attempt of a delivery, if it is due."""
    from webhooks import services

    return {"result": services.webhook_deliver(delivery_id=delivery_id)}


@shared_task
def deliveries_sweep() -> dict[str, int]:
    """Enqueue every due delivery (retries, and attempts lost with a worker or a broker)."""
    from webhooks import services

    return {"due": services.deliveries_sweep()}
