"""Messaging's background work: paced dispatch per handle and the sweeper."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task
def handle_dispatch(handle_id: int) -> dict[str, Any]:
    """Dispatch what the handle's pace allows now; reschedules itself for the rest."""
    from messaging import dispatch

    result = dispatch.handle_dispatch(handle_id=handle_id)
    return {
        "dispatched": result.dispatched,
        "expired": result.expired,
        "run_again_in": result.run_again_in,
        "busy": result.busy,
        "offline": result.offline,
    }


@shared_task
def messages_sweep() -> dict[str, int]:
    """Release due scheduled messages, expire stale ones, re-kick dispatchers that were lost."""
    from messaging import dispatch

    result = dispatch.messages_sweep()
    return {"released": result.released, "expired": result.expired, "kicked": len(result.kicked)}


@shared_task
def attachments_purge_unused() -> dict[str, int]:
    """Delete uploads never sent within 24 h of their upload, with their files."""
    from datetime import timedelta

    from messaging.attachments import attachments_purge_unused as purge

    return {"deleted": purge(older_than=timedelta(hours=24))}
