"""The event types an account can subscribe to (SPEC.md, "Webhooks")."""

from __future__ import annotations

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
    "handle.online",
    "handle.offline",
    "webhook.test",
)
