"""A handle's line health: the one place its state, reasons and times are written.

Messaging judges the health (messaging.services.line_health) and calls `handle_health_set`;
operators clear it with `handle_health_clear`. Either way the change, its
`handle.health_changed` event and (for a clear) its audit row are one transaction, and the
apps listening (`handles.registry.on_handle_health_changed`: messaging releases the new-contact
sends it held) are told in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.services import audit_record
from handles import registry
from handles.events import handle_health_changed
from handles.models import Handle


def _apply(
    locked: Handle, handle: Handle, *, health: str, reasons: list[dict[str, Any]], now: datetime
) -> bool:
    """Write `health` and `reasons` on the locked row; publish and tell listeners if the
    state moved. True if it moved."""
    previous = locked.health
    moved = previous != health
    fields: dict[str, Any] = {"health": health, "health_reasons": reasons}
    if moved:
        fields["health_changed_at"] = now
    Handle.objects.filter(pk=locked.pk).update(**fields)
    for target in (locked, handle):
        target.health, target.health_reasons = health, reasons
        if moved:
            target.health_changed_at = now
    if moved:
        handle_health_changed(locked, previous=previous, at=now)
        for listener in registry.handle_health_changed_listeners():
            listener(locked, previous)
    return moved


def handle_health_set(
    *,
    handle: Handle,
    health: str,
    reasons: list[dict[str, Any]],
    cleared_at: datetime | None,
) -> bool:
    """Record a judgement of the handle's health made from outcomes after `cleared_at` (the
    clear it read). A judgement an operator's clear overtook is dropped. Publishes
    `handle.health_changed` when the state moves (new reasons alone are written quietly);
    True if it moved."""
    with transaction.atomic():
        locked = Handle.objects.select_for_update(no_key=True).filter(pk=handle.pk).first()
        if locked is None or locked.health_cleared_at != cleared_at:
            return False
        if locked.health == health and locked.health_reasons == reasons:
            return False
        return _apply(locked, handle, health=health, reasons=reasons, now=timezone.now())


def handle_health_clear(*, handle: Handle, operator: Any, reason: str = "") -> bool:
    """An operator's clear: the handle is healthy again and the outcomes and signals before
    now no longer count; audited. True if it was not healthy (a healthy handle is still
    cleared, so its past stops counting, but not audited)."""
    with transaction.atomic():
        locked = Handle.objects.select_for_update(no_key=True).get(pk=handle.pk)
        now = timezone.now()
        Handle.objects.filter(pk=locked.pk).update(health_cleared_at=now)
        locked.health_cleared_at = handle.health_cleared_at = now
        previous = locked.health
        if previous == Handle.Health.HEALTHY:
            if locked.health_reasons:
                _apply(locked, handle, health=previous, reasons=[], now=now)
            return False
        _apply(locked, handle, health=Handle.Health.HEALTHY, reasons=[], now=now)
        audit_record(
            operator=operator,
            action="handle.health_clear",
            obj=locked,
            changes={"health": [previous, Handle.Health.HEALTHY]},
            reason=reason,
        )
    return True
