"""The events handles publish, and the `data` each carries (the only place it is built)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contract.times import rfc3339
from handles.models import Handle
from webhooks.services import event_publish


def handle_status_data(handle: Handle, *, status: str, at: datetime) -> dict[str, Any]:
    """The `data` of `handle.online` and `handle.offline`."""
    return {"handle": handle.address, "status": status, "at": rfc3339(at)}


def handle_status_changed(handle: Handle, *, status: str, at: datetime) -> None:
    """Publish `handle.<status>` to the handle's account, if it has one."""
    if handle.account_id is not None:
        event_publish(
            account=handle.account_id,
            type=f"handle.{status}",
            data=handle_status_data(handle, status=status, at=at),
            subject=handle.address,
        )


def handle_pause_changed(handle: Handle, *, paused: bool, at: datetime) -> None:
    """Publish `handle.paused` or `handle.resumed` to the handle's account, if it has one."""
    if handle.account_id is not None:
        event_publish(
            account=handle.account_id,
            type="handle.paused" if paused else "handle.resumed",
            data={"handle": handle.address, "paused": paused, "at": rfc3339(at)},
            subject=handle.address,
        )


def handle_health_changed(handle: Handle, *, previous: str, at: datetime) -> None:
    """Publish `handle.health_changed` to the handle's account, if it has one."""
    if handle.account_id is not None:
        event_publish(
            account=handle.account_id,
            type="handle.health_changed",
            data={
                "handle": handle.address,
                "health": handle.health,
                "previous": previous,
                "reasons": handle.health_reasons,
                "changed_at": rfc3339(at),
            },
            subject=handle.address,
        )
