"""Reads of handles, devices and what devices reported.

A device token that authenticated is remembered by the process for `DEVICE_REMEMBER_SECONDS`
(a device calls several times a second when busy; each call need not look it up): a device
retired by attaching a new one is refused at once by the process that attached it, and by
every other process within that window.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account
from accounts.selectors import secret_hash
from contract.errors import NotFound
from handles import registry
from handles.models import Device, Handle, Job, RecipientCapability

DEVICE_TOKEN_PREFIX = "sbd_"  # noqa: S105 - a prefix, not a secret


def offline_after() -> timedelta:
    return timedelta(seconds=int(settings.SWITCHBOARD_DEVICE_OFFLINE_AFTER))


def is_online(last_seen_at: datetime | None, *, now: datetime | None = None) -> bool:
    """Online means the handle's device called within the last 60 s (configurable)."""
    if last_seen_at is None:
        return False
    return last_seen_at >= (now or timezone.now()) - offline_after()


def _with_live_device(queryset: QuerySet[Handle]) -> QuerySet[Handle]:
    live = Device.objects.filter(handle=OuterRef("pk"), revoked_at__isnull=True)
    return queryset.annotate(
        last_seen_at=Subquery(live.values("last_seen_at")[:1]),
        whatsapp_connected=Subquery(live.values("whatsapp_connected")[:1]),
    )


def handles_for_operators() -> QuerySet[Handle]:
    """Every handle with what an operator watches, in one query: its live device's last
    contact, its open device jobs, and the columns other apps add (`registry.queue_annotations`:
    messaging's queued count and oldest queued time)."""
    open_jobs = (
        Job.objects.filter(
            handle=OuterRef("pk"), status__in=[Job.Status.PENDING, Job.Status.LEASED]
        )
        .order_by()
        .values("handle")
        .annotate(n=Count("id"))
        .values("n")
    )
    return _with_live_device(Handle.objects.all()).annotate(
        open_jobs=Coalesce(Subquery(open_jobs), 0), **registry.queue_annotations()
    )


def handle_list(*, account: Account) -> QuerySet[Handle]:
    return _with_live_device(Handle.objects.filter(account=account))


def handle_get(*, account: Account, address: str) -> Handle:
    handle = _with_live_device(Handle.objects.filter(account=account, address=address)).first()
    if handle is None:
        raise NotFound()
    return handle


def queue_depths(handles: Iterable[Handle]) -> dict[int, int]:
    """Work waiting per handle: open device jobs plus what other apps report."""
    handles = list(handles)
    counts = dict(
        Job.objects.filter(handle__in=handles, status__in=[Job.Status.PENDING, Job.Status.LEASED])
        .values_list("handle_id")
        .annotate(n=Count("id"))
        .values_list("handle_id", "n")
    )
    for provider in registry.queue_depth_providers():
        for handle_id, extra in provider(handles).items():
            counts[handle_id] = counts.get(handle_id, 0) + extra
    return counts


def new_contacts_usage(handles: Iterable[Handle]) -> dict[int, dict[str, Any]]:
    """Each handle's new-contact budget: `{used, budget, resets_at}` (one read, by messaging);
    a handle nobody reports on has its budget and nothing used."""
    handles = list(handles)
    found: dict[int, dict[str, Any]] = {
        handle.pk: {"used": 0, "budget": handle.new_contact_budget, "resets_at": None}
        for handle in handles
    }
    for provider in registry.new_contacts_providers():
        found.update(provider(handles))
    return found


DEVICE_REMEMBER_SECONDS = 5.0
_REMEMBERED_MAX = 10_000
# token hash -> (remembered at, device with its handle); the wall clock, bounded both ways.
_remembered: dict[str, tuple[float, Device]] = {}


def device_remembered(*, token: str) -> Device | None:
    """The device of this token if it authenticated here within the window; no I/O."""
    if not token.startswith(DEVICE_TOKEN_PREFIX) or len(token) > 200:
        return None
    entry = _remembered.get(secret_hash(token))
    if entry is None or not 0 <= time.time() - entry[0] < DEVICE_REMEMBER_SECONDS:
        return None
    return entry[1]


def device_authenticate(*, token: str) -> Device | None:
    """The live device with this token, from the database, remembered for the window."""
    device = device_get_by_token(token=token)
    if device is not None:
        if len(_remembered) >= _REMEMBERED_MAX:
            _remembered.clear()
        _remembered[device.token_hash] = (time.time(), device)
    return device


def devices_forget() -> None:
    """Forget every remembered device token (a device was just retired here)."""
    _remembered.clear()


def device_get_by_token(*, token: str) -> Device | None:
    """The live device with this token (and its handle), or None."""
    if not token.startswith(DEVICE_TOKEN_PREFIX) or len(token) > 200:
        return None
    return (
        Device.objects.select_related("handle", "handle__account")
        .filter(token_hash=secret_hash(token), revoked_at__isnull=True)
        .first()
    )


def capability_get(*, account: Account, address: str) -> RecipientCapability | None:
    return RecipientCapability.objects.filter(account=account, address=address).first()


def live_devices(*, handles: Iterable[Handle]) -> QuerySet[Device]:
    return Device.objects.filter(handle__in=list(handles), revoked_at__isnull=True)


def live_device(*, handle: Handle) -> Device | None:
    return Device.objects.filter(handle=handle, revoked_at__isnull=True).first()


def handles_with_live_device(*, handle_ids: Iterable[int]) -> QuerySet[Handle]:
    """These handles, each with its live device's `last_seen_at` (None without one)."""
    return _with_live_device(Handle.objects.filter(pk__in=list(handle_ids)))


def paused_among(*, handle_ids: Iterable[int]) -> set[int]:
    """Which of these handles an operator has paused (as committed now)."""
    return set(
        Handle.objects.filter(pk__in=list(handle_ids), paused=True).values_list("pk", flat=True)
    )


def handles_with_jobs_ready(*, handle_ids: Iterable[int]) -> set[int]:
    """Which of these handles have a job a device could lease now (pending, or leased and its
    lease ran out): one query however many handles (the long-polls' re-check)."""
    ready = Q(status=Job.Status.PENDING) | Q(
        status=Job.Status.LEASED, leased_until__lt=timezone.now()
    )
    return set(
        Job.objects.filter(
            ready,
            handle_id__in=list(handle_ids),
            status__in=[Job.Status.PENDING, Job.Status.LEASED],
        )
        .values_list("handle_id", flat=True)
        .distinct()
    )
