"""The event types an account can subscribe to (SPEC.md, "Webhooks"), and webhooks' own.

An event's `data` is built by the app it is about, in that app's `events` module
(`messaging.events`, `handles.events`); this app only stores and delivers it. A new event
type is added here and published from its app's `events` module (docs/architecture.md).
"""

from __future__ import annotations

from typing import Any

EVENT_TYPES: tuple[str, ...] = (
    "message.queued",
    "message.sent",
    "message.delivered",
    "message.read",
    "message.failed",
    "message.received",
    "message.edited",
    "message.unsent",
    "reaction.added",
    "reaction.removed",
    "chat.updated",
    "contact.opted_out",
    "contact.opted_in",
    "handle.online",
    "handle.offline",
    "handle.paused",
    "handle.resumed",
    "handle.health_changed",
    "webhook.test",
)


def webhook_test_data(*, endpoint_id: str) -> dict[str, Any]:
    """The `data` of a `webhook.test` event."""
    return {"webhook_id": endpoint_id, "message": "This is a test event from Switchboard."}
