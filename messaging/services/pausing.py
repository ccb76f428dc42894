"""What pausing a handle means for its messages: they wait, and the pause is not their age.

An operator pauses a handle (`handles.services.handle_pause`): the dispatcher hands its device
nothing and the sweeper neither expires its messages nor re-kicks it. The pause takes the
handle's queue row lock, as a dispatcher does, and a dispatcher reads the pause again in the
statement that takes that lock: a run under way finishes before the pause commits, and no run
after it hands anything over. On resume their places
in the queue (`queued_at`) move later by the time it was paused, all by the same amount: the
order holds (FIFO) and the time to live counts only time the handle could send. Then its
dispatcher is woken and the queue drains at the handle's own pace.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F

from handles import registry
from handles.models import Handle
from messaging.models import HandleQueue, Message
from messaging.services.lifecycle import dispatch_soon


@registry.on_handle_paused
def handle_paused(handle: Handle) -> None:
    """Wait for a dispatch run under way on the handle to finish (its queue row's lock), so
    the pause, once committed, is seen by every run after it."""
    list(HandleQueue.objects.select_for_update().filter(handle_id=handle.pk).values_list("pk"))


@registry.on_handle_resumed
def handle_resumed(handle: Handle, paused_for: timedelta) -> None:
    """Move the handle's queued messages `paused_for` later and wake its dispatcher (in the
    resuming transaction; the wake-up once it commits)."""
    if paused_for > timedelta(0):
        Message.objects.filter(
            handle_id=handle.pk, status=Message.Status.QUEUED, queued_at__isnull=False
        ).update(queued_at=F("queued_at") + paused_for)
    dispatch_soon(handle.pk)
