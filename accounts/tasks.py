"""Housekeeping for accounts."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings


@shared_task
def idempotency_records_purge() -> dict[str, int]:
    """Forget idempotent responses past their retention (24 h)."""
    from accounts import services

    hours = int(settings.SWITCHBOARD_IDEMPOTENCY_TTL_HOURS)
    return {"deleted": services.idempotency_records_purge(older_than=timedelta(hours=hours))}
