"""What pausing a handle means for its messages: they wait, and the pause is not their age.

An operator pauses a handle (`handles.services.handle_pause`): the dispatcher hands its device
nothing and the sweeper neither expires its messages nor re-kicks it. On resume their places
in the queue (`queued_at`) move later by the time it was paused, all by the same amount: the
order holds (FIFO) and the time to live counts only time the handle could send. Then its
dispatcher is woken and the queue drains at the handle's own pace.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F

from handles import registry
from handles.models import Handle
from messaging.models import Message
from messaging.services.lifecycle import dispatch_soon


@registry.on_handle_resumed
def handle_resumed(handle: Handle, paused_for: timedelta) -> None:
    """Move the handle's queued messages `paused_for` later and wake its dispatcher (in the
    resuming transaction; the wake-up once it commits)."""
    if paused_for > timedelta(0):
        Message.objects.filter(
            handle_id=handle.pk, status=Message.Status.QUEUED, queued_at__isnull=False
        ).update(queued_at=F("queued_at") + paused_for)
    dispatch_soon(handle.pk)
