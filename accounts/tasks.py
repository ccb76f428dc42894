"""Housekeeping for accounts (beat runs it)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from accounts import services


@shared_task
def idempotency_records_purge() -> dict[str, int]:
    """Forget idempotent responses past their retention (24 h)."""
    hours = int(settings.SWITCHBOARD_IDEMPOTENCY_TTL_HOURS)
    return {"deleted": services.idempotency_records_purge(older_than=timedelta(hours=hours))}
