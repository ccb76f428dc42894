"""Housekeeping for handles (beat runs it)."""

from __future__ import annotations

from celery import shared_task

from handles import services


@shared_task
def handles_mark_offline() -> dict[str, int]:
    """Announce handles whose device has been quiet for 60 s as offline (`handle.offline`)."""
    return {"offline": services.handles_mark_offline()}
