"""Handles and the devices attached to them: assign and move a handle, pause and resume it,
attach a device, record that it called, and the online/offline status that follows."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.expressions import Combinable
from django.utils import timezone

from accounts.models import Account
from accounts.selectors import secret_hash
from accounts.services import audit_record
from contract.errors import Conflict, InvalidRequest
from contract.ids import random_token
from handles import registry
from handles.addresses import handle_normalize, is_email
from handles.events import handle_pause_changed, handle_status_changed
from handles.models import (
    Channel,
    Device,
    Handle,
    HandleStatusChange,
    default_channels,
)
from handles.selectors import DEVICE_TOKEN_PREFIX, devices_forget, offline_after


class Unchanged(enum.Enum):
    """A setting the caller left as it is (where None means something: no limit)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


def handle_assign(
    *,
    account: Account,
    address: str,
    channels: list[str] | None = None,
    per_minute: int | None = None,
    burst: int | None = None,
    new_contact_budget: int | Unchanged | None = UNCHANGED,
    move: bool = False,
) -> Handle:
    """Assign a handle to `account` (creating it), or update its settings if already theirs.

    A handle of another account is refused unless `move`: then the old account's messages
    still waiting on it fail (`handle_unassigned`) instead of going out from the new owner.
    `new_contact_budget` None is no limit (docs/compliance.md); left out, it is unchanged
    (a new handle gets the default).
    """
    normalized = handle_normalize(address)
    if channels is not None:
        unknown = sorted(set(channels) - set(Channel.values))
        if unknown or not channels:
            raise InvalidRequest(f"Unknown channels: {', '.join(unknown) or 'none'}.")
        if is_email(normalized) and set(channels) - {Channel.IMESSAGE}:
            raise InvalidRequest("An email handle can only send iMessage.")
    for name, value in (("per_minute", per_minute), ("burst", burst)):
        if value is not None and value < 1:
            raise InvalidRequest(f"{name} must be at least 1.")
    if isinstance(new_contact_budget, int) and new_contact_budget < 0:
        raise InvalidRequest("new_contact_budget must be 0 or more (or no limit).")
    with transaction.atomic():
        handle, _ = Handle.objects.select_for_update().get_or_create(
            address=normalized,
            defaults={
                "channels": [Channel.IMESSAGE.value] if is_email(normalized) else default_channels()
            },
        )
        if handle.account_id is not None and handle.account_id != account.pk and not move:
            raise Conflict(f"{normalized} is assigned to another account (move it explicitly).")
        handle.account = account
        if channels is not None:
            handle.channels = [c for c in Channel.values if c in channels]
        if per_minute is not None:
            handle.per_minute = per_minute
        if burst is not None:
            handle.burst = burst
        budget_changed = False
        if not isinstance(new_contact_budget, Unchanged):
            budget_changed = new_contact_budget != handle.new_contact_budget
            handle.new_contact_budget = new_contact_budget
        handle.save()
        if budget_changed:
            registry.handle_budget_changed(handle.pk)
    return handle


@transaction.atomic
def handle_pause(*, handle: Handle) -> bool:
    """Hold the handle's dispatch: its device is handed no more messages, which wait queued
    (none fails, and their time to live stops running: see `handle_resume`). Publishes
    `handle.paused`. The apps that queue for it are told in this transaction (messaging waits
    for a dispatch run under way to finish), so once this returns nothing more is handed
    over. True if it was not paused already."""
    now = timezone.now()
    paused = Handle.objects.filter(pk=handle.pk, paused=False).update(paused=True, paused_at=now)
    if paused:
        handle.paused, handle.paused_at = True, now
        for listener in registry.handle_paused_listeners():
            listener(handle)
        handle_pause_changed(handle, paused=True, at=now)
    else:
        handle.paused = True
    return bool(paused)


@transaction.atomic
def handle_resume(*, handle: Handle) -> bool:
    """Let a paused handle send again: the apps that queue for it are told how long it was
    paused (messaging moves its queued messages' places that much later, so the pause does
    not count against their time to live, and wakes the dispatcher), and `handle.resumed`
    is published. True if it was paused."""
    now = timezone.now()
    locked = Handle.objects.select_for_update().filter(pk=handle.pk, paused=True).first()
    if locked is None:
        handle.paused = False
        return False
    paused_for = max(timedelta(0), now - (locked.paused_at or now))
    Handle.objects.filter(pk=handle.pk).update(paused=False, paused_at=None)
    handle.paused, handle.paused_at = False, None
    for listener in registry.handle_resumed_listeners():
        listener(handle, paused_for)
    handle_pause_changed(handle, paused=False, at=now)
    return True


def handle_pause_set(*, handle: Handle, paused: bool, operator: Any, reason: str = "") -> bool:
    """Pause or resume the handle for an operator (`operator`: the signed-in user, or None
    from the command line) and record it in the audit log, in one transaction; True if it
    changed (a handle already so is left alone and not audited)."""
    with transaction.atomic():
        changed = handle_pause(handle=handle) if paused else handle_resume(handle=handle)
        if changed:
            audit_record(
                operator=operator,
                action="handle.pause" if paused else "handle.resume",
                obj=handle,
                changes={"paused": [not paused, paused]},
                reason=reason,
            )
    return changed


@dataclass(frozen=True)
class IssuedDevice:
    """A freshly attached device: the only time its token exists outside the agent."""

    device: Device
    token: str


@transaction.atomic
def device_attach(*, handle: Handle, name: str = "", simulated: bool = False) -> IssuedDevice:
    """Attach a new device to `handle`, retiring the one it had: one live device a handle
    (refused at once here; by other processes once they forget it, see `handles.selectors`)."""
    Device.objects.filter(handle=handle, revoked_at__isnull=True).update(revoked_at=timezone.now())
    devices_forget()
    transaction.on_commit(devices_forget)
    token = DEVICE_TOKEN_PREFIX + random_token(40)
    device = Device.objects.create(
        handle=handle,
        name=name,
        simulated=simulated,
        token_hash=secret_hash(token),
        token_prefix=token[:10],
    )
    return IssuedDevice(device=device, token=token)


def _handle_status_set(
    handle: Handle, status: str, *, now: datetime, still: Combinable | None = None
) -> bool:
    """Move the handle to `status` once (and only if `still` holds at that moment); record it
    and publish the event. True if it moved."""
    candidates = Handle.objects.filter(pk=handle.pk).exclude(status=status)
    if still is not None:
        candidates = candidates.filter(still)
    moved = candidates.update(status=status, status_changed_at=now)
    if not moved:
        return False
    handle.status = status
    handle.status_changed_at = now
    HandleStatusChange.objects.create(handle=handle, status=status, at=now)
    if status == Handle.Status.ONLINE:
        for listener in registry.handle_online_listeners():
            transaction.on_commit(lambda listener=listener: listener(handle.pk), robust=True)  # type: ignore[misc]
    handle_status_changed(handle, status=status, at=now)
    return True


# A device is recorded as seen at most this often: its calls (several a second when busy)
# need not each write its row, and an offline handle (60 s) is still noticed in time.
SEEN_EVERY = timedelta(seconds=5)


def device_seen(*, device: Device) -> None:
    """A device called: it is seen now (to within `SEEN_EVERY`), and its handle is online if
    it was not."""
    now = timezone.now()
    if (
        device.handle.status == Handle.Status.ONLINE
        and device.last_seen_at is not None
        and timedelta(0) <= now - device.last_seen_at < SEEN_EVERY
    ):
        return
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(last_seen_at=now)
        device.last_seen_at = now
        if device.handle.status != Handle.Status.ONLINE:
            _handle_status_set(device.handle, Handle.Status.ONLINE, now=now)


def device_heartbeat(
    *, device: Device, channels: list[str], whatsapp_connected: bool, version: str
) -> Device:
    Device.objects.filter(pk=device.pk).update(
        channels=channels, whatsapp_connected=whatsapp_connected, version=version
    )
    device.channels = channels
    device.whatsapp_connected = whatsapp_connected
    device.version = version
    return device


def handles_mark_offline() -> int:
    """Announce every handle whose device went quiet as offline; return how many."""
    now = timezone.now()
    recently_seen = Device.objects.filter(
        handle=OuterRef("pk"), revoked_at__isnull=True, last_seen_at__gte=now - offline_after()
    )
    gone_quiet = Handle.objects.filter(status=Handle.Status.ONLINE).filter(~Exists(recently_seen))
    count = 0
    for handle in gone_quiet:
        with transaction.atomic():
            # Re-checked in the UPDATE: a device that called since the query keeps it online.
            count += _handle_status_set(
                handle, Handle.Status.OFFLINE, now=now, still=~Exists(recently_seen)
            )
    return count
