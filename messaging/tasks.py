"""Messaging's background work: paced dispatch, the sweeper and the purge.

`messaging.services.lifecycle.dispatch_soon` enqueues `dispatch_due` by name (coalesced:
one run for all the handles due, see `messaging.services.dispatch_wakeups`), or, without
Redis, `handle_dispatch` for one handle; beat runs the sweeps, the purge and the release of
held messages (`messaging.services.releasing`), which a service also asks for by name
when it knows a handle may send some of its held messages now.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task

from messaging.services import attachments, dispatch, line_health, releasing


@shared_task
def handle_dispatch(handle_id: int) -> dict[str, Any]:
    """Dispatch what the handle's pace allows now; reschedules itself for the rest."""
    result = dispatch.handle_dispatch(handle_id=handle_id)
    return {
        "dispatched": result.dispatched,
        "expired": result.expired,
        "run_again_in": result.run_again_in,
        "busy": result.busy,
        "offline": result.offline,
    }


@shared_task
def dispatch_due(fire_at: str | None = None) -> dict[str, Any]:
    """Dispatch the handles that are due now (those woken, and timers that came due)."""
    result = dispatch.dispatch_due(fire_at=fire_at)
    return {"handles": result.handles, "dispatched": result.dispatched}


@shared_task
def messages_sweep() -> dict[str, int]:
    """Release due scheduled messages, expire stale ones, re-kick dispatchers that were lost."""
    result = dispatch.messages_sweep()
    return {"released": result.released, "expired": result.expired, "kicked": len(result.kicked)}


@shared_task
def attachments_purge_unused() -> dict[str, int]:
    """Delete uploads never sent within 24 h of their upload, with their files."""
    return {"deleted": attachments.attachments_purge_unused(older_than=timedelta(hours=24))}


@shared_task
def line_health_evaluate(everything: bool = False) -> dict[str, int]:
    """Judge the line health of the handles that sent lately or are not healthy (all of them
    with `everything`)."""
    result = line_health.handles_health_evaluate(everything=everything)
    return {"evaluated": result.evaluated, "changed": result.changed}


@shared_task
def line_health_evaluate_handle(handle_id: int) -> dict[str, str | None]:
    """Judge one handle's line health now (after a device reported failures)."""
    return {"health": line_health.evaluate_requested(handle_id=handle_id)}


@shared_task
def held_release(handle_id: int) -> dict[str, int]:
    """Release what one handle holds and may now send (new-contact budget, line health)."""
    return {"released": releasing.held_release(handle_id=handle_id)}


@shared_task
def held_release_due() -> dict[str, int]:
    """Release, for every handle that holds messages, what it may now send."""
    released = releasing.held_release_all()
    return {"handles": len(released), "released": sum(released.values())}
