"""Webhooks' writes, one module a concern:

- `publish`: the event outbox other apps publish to (`event_publish`, `event_publish_many`),
  and waking an endpoint's delivery (`endpoint_wake`).
- `endpoints`: create, update, delete, rotate the signing secret, disable.
- `delivering`: delivery per endpoint (drains, one attempt, redeliver, test).
- `sweeping`: the sweep behind delivery, and fan-out of events an older version published.

The names below are the app's API (`from webhooks import services`); reads are in
`webhooks.selectors`, the HTTP side of an attempt (signing, posting) in `webhooks.delivery`.
"""

from webhooks.services.delivering import (
    ATTEMPT_LEASE,
    BATCH_POST_WINDOW,
    DELIVER_TASK,
    endpoint_drain,
    endpoint_slot,
    webhook_deliver,
    webhook_endpoint_test,
    webhook_redeliver,
)
from webhooks.services.endpoints import (
    SECRET_OVERLAP,
    endpoint_disable,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from webhooks.services.publish import (
    DRAIN_TASK,
    PUBLISH_CHUNK,
    WAKE_MARKER_SECONDS,
    Along,
    endpoint_wake,
    endpoint_wake_on_commit,
    event_publish,
    event_publish_many,
)
from webhooks.services.sweeping import FAN_OUT_TASK, deliveries_sweep, event_fan_out

__all__ = [
    "ATTEMPT_LEASE",
    "BATCH_POST_WINDOW",
    "DELIVER_TASK",
    "DRAIN_TASK",
    "FAN_OUT_TASK",
    "PUBLISH_CHUNK",
    "SECRET_OVERLAP",
    "WAKE_MARKER_SECONDS",
    "Along",
    "deliveries_sweep",
    "endpoint_disable",
    "endpoint_drain",
    "endpoint_slot",
    "endpoint_wake",
    "endpoint_wake_on_commit",
    "event_fan_out",
    "event_publish",
    "event_publish_many",
    "webhook_deliver",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_rotate_secret",
    "webhook_endpoint_test",
    "webhook_endpoint_update",
    "webhook_redeliver",
]
