"""Writes at the device boundary: handles, devices, jobs and what devices report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import Combinable
from django.utils import timezone

from accounts.models import Account
from accounts.selectors import secret_hash
from contract.errors import Conflict, InvalidRequest, NotFound
from contract.ids import random_token
from contract.raw import rows_update
from handles import registry, wakeups
from handles.addresses import handle_normalize, is_email
from handles.events import handle_pause_changed, handle_status_changed
from handles.models import (
    Channel,
    Device,
    DeviceEvent,
    Handle,
    HandleStatusChange,
    Job,
    RecipientCapability,
    default_channels,
)
from handles.selectors import DEVICE_TOKEN_PREFIX, devices_forget, offline_after

LEASE = timedelta(seconds=60)


def handle_wakeup_key(handle_id: int) -> str:
    """What a handle's device waits on for new jobs (see `handles.wakeups`)."""
    return f"handle:{handle_id}"


def job_wakeup_key(job_id: str) -> str:
    """What an API call waits on for a job's result (see `handles.wakeups`)."""
    return f"job:{job_id}"


# --- handles -----------------------------------------------------------------------------


def handle_assign(
    *,
    account: Account,
    address: str,
    channels: list[str] | None = None,
    per_minute: int | None = None,
    burst: int | None = None,
    move: bool = False,
) -> Handle:
    """Assign a handle to `account` (creating it), or update its settings if already theirs.

    A handle of another account is refused unless `move`: then the old account's messages
    still waiting on it fail (`handle_unassigned`) instead of going out from the new owner.
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
        handle.save()
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


# --- jobs --------------------------------------------------------------------------------


def job_create(*, handle: Handle, kind: str, payload: dict[str, Any]) -> Job:
    """Queue work for the handle's device; the device is woken once this commits."""
    job = Job.objects.create(handle=handle, kind=kind, payload=payload)
    transaction.on_commit(lambda: wakeups.wake(handle_wakeup_key(handle.pk)), robust=True)
    return job


def jobs_create(*, handle: Handle, kind: str, payloads: list[dict[str, Any]]) -> list[Job]:
    """Queue one job a payload for the handle's device, in one statement and in this order
    (a device leases them oldest first); the device is woken once, when this commits."""
    if not payloads:
        return []
    now = timezone.now()
    jobs = Job.objects.bulk_create(
        # A microsecond apart: one statement, and still the order they were given.
        Job(handle=handle, kind=kind, payload=payload, created_at=now + timedelta(microseconds=n))
        for n, payload in enumerate(payloads)
    )
    transaction.on_commit(lambda: wakeups.wake(handle_wakeup_key(handle.pk)), robust=True)
    return jobs


def jobs_create_many(*, kind: str, payloads: list[tuple[Handle, dict[str, Any]]]) -> list[Job]:
    """`jobs_create` for several handles at once: one job a (handle, payload), one statement,
    each handle's in the order given; each device is woken once, when this commits."""
    if not payloads:
        return []
    now = timezone.now()
    jobs = Job.objects.bulk_create(
        Job(handle=handle, kind=kind, payload=payload, created_at=now + timedelta(microseconds=n))
        for n, (handle, payload) in enumerate(payloads)
    )
    keys = sorted({handle_wakeup_key(handle.pk) for handle, _ in payloads})
    transaction.on_commit(lambda: wakeups.wake_many(keys), robust=True)
    return jobs


def jobs_lease(*, device: Device, limit: int) -> list[Job]:
    """Lease up to `limit` jobs of the device's handle for 60 s, oldest first.

    A pending job, or one whose lease ran out (its device died or lost it), is handed out
    with its same id; the device de-duplicates by job id.
    """
    now = timezone.now()
    with transaction.atomic():
        jobs = list(
            Job.objects.select_for_update(skip_locked=True)
            .filter(handle_id=device.handle_id)
            .filter(
                Q(status=Job.Status.PENDING) | Q(status=Job.Status.LEASED, leased_until__lt=now)
            )
            .order_by("created_at", "id")[:limit]
        )
        for job in jobs:
            job.status = Job.Status.LEASED
            job.device = device
            job.leased_until = now + LEASE
            job.deliveries += 1
        rows_update(jobs, ["status", "device", "leased_until", "deliveries"])
    return jobs


@transaction.atomic
def job_report_result(
    *,
    device: Device,
    job_id: str,
    ok: bool,
    upstream_id: str | None,
    error: dict[str, str] | None,
) -> tuple[Job, bool]:
    """Record the device's result of a job it holds; return (job, whether this changed it).

    The same result again changes nothing; a job the device does not hold is a conflict.
    """
    job = (
        Job.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk=job_id, handle_id=device.handle_id)
        .select_related("handle")
        .first()
    )
    if job is None:
        raise NotFound()
    if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED) and job.device_id == device.pk:
        return job, False
    if job.status != Job.Status.LEASED or job.device_id != device.pk:
        raise Conflict(f"This device does not hold job {job_id} (it is {job.status}).")
    now = timezone.now()
    job.status = Job.Status.SUCCEEDED if ok else Job.Status.FAILED
    job.result = {"ok": ok, "upstream_id": upstream_id, "error": error}
    job.finished_at = now
    job.save(update_fields=["status", "result", "finished_at"])
    handler = registry.job_result_handler(job.kind)
    if handler is not None:
        handler(job)
    transaction.on_commit(lambda: wakeups.wake(job_wakeup_key(job.pk)), robust=True)
    return job, True


@dataclass(frozen=True)
class ReportedResult:
    """What became of one result of a batch: `recorded`, `duplicate` (already recorded),
    `conflict` (the device does not hold the job) or `not_found` (no such job of its handle)."""

    job_id: str
    outcome: str
    status: str | None = None
    message: str = ""


def jobs_report_results(*, device: Device, results: list[dict[str, Any]]) -> list[ReportedResult]:
    """Record up to 100 results of jobs the device holds, in one transaction; an outcome each.

    Each result is judged like `job_report_result` judges it, but a job the device does not
    hold (or that does not exist) is that item's outcome, not the batch's: the others are
    recorded. The jobs are read in one query and written in one; the apps' handlers get
    consecutive results of one kind together (`registry.on_job_results`).
    """
    now = timezone.now()
    answers: list[ReportedResult] = []
    with transaction.atomic():
        jobs = {
            job.pk: job
            for job in Job.objects.select_for_update(of=("self",), no_key=True)
            .filter(pk__in={item["job_id"] for item in results}, handle_id=device.handle_id)
            .select_related("handle")
            .order_by("id")
        }
        finished: list[Job] = []
        for item in results:
            job = jobs.get(item["job_id"])
            if job is None:
                answers.append(ReportedResult(item["job_id"], "not_found", message="No such job."))
            elif job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED) and (
                job.device_id == device.pk
            ):
                answers.append(ReportedResult(job.pk, "duplicate", job.status))
            elif job.status != Job.Status.LEASED or job.device_id != device.pk:
                answers.append(
                    ReportedResult(
                        job.pk,
                        "conflict",
                        job.status,
                        f"This device does not hold job {job.pk} (it is {job.status}).",
                    )
                )
            else:
                job.status = Job.Status.SUCCEEDED if item["ok"] else Job.Status.FAILED
                job.result = {
                    "ok": item["ok"],
                    "upstream_id": item.get("upstream_id"),
                    "error": item.get("error"),
                }
                job.finished_at = now
                finished.append(job)
                answers.append(ReportedResult(job.pk, "recorded", job.status))
        if finished:
            rows_update(finished, ["status", "result", "finished_at"])
            _job_results_apply(finished)
            keys = [job_wakeup_key(job.pk) for job in finished]
            transaction.on_commit(lambda: wakeups.wake_many(keys), robust=True)
    return answers


def _job_results_apply(jobs: list[Job]) -> None:
    """Hand finished jobs to their apps' handlers: runs of one kind, in the order reported."""
    start = 0
    while start < len(jobs):
        kind = jobs[start].kind
        end = start
        while end < len(jobs) and jobs[end].kind == kind:
            end += 1
        batch_handler = registry.job_results_handler(kind)
        if batch_handler is not None:
            batch_handler(jobs[start:end])
        else:
            handler = registry.job_result_handler(kind)
            if handler is not None:
                for job in jobs[start:end]:
                    handler(job)
        start = end


def job_withdraw(*, job: Job, unstarted_only: bool = False) -> bool:
    """Take back a job nobody may run any more; False if it finished (or, with
    `unstarted_only`, if a device has ever fetched it: it may be under way)."""
    states = [Job.Status.PENDING] if unstarted_only else [Job.Status.PENDING, Job.Status.LEASED]
    withdrawn = Job.objects.filter(pk=job.pk, status__in=states).update(
        status=Job.Status.WITHDRAWN, finished_at=timezone.now()
    )
    return bool(withdrawn)


# --- device events -----------------------------------------------------------------------


@dataclass(frozen=True)
class IngestedEvent:
    id: str
    type: str
    duplicate: bool


def device_events_ingest(*, device: Device, events: list[dict[str, Any]]) -> list[IngestedEvent]:
    """Apply the events a device pushed, in order, each at most once (by its own id).

    All or nothing: one invalid event leaves the whole batch unapplied, so the device can
    fix and resend it. The batch is recorded in one statement (which also tells the events
    already applied from the new ones, even against a concurrent push of the same batch), and
    consecutive events that an app handles as a batch (`registry.on_device_events`) go to it
    together: receipts for 100 messages read those messages in one query.
    """
    with transaction.atomic():
        new_ids = _device_events_record(device, events)
        results: list[IngestedEvent] = []
        fresh: list[tuple[str, str, dict[str, Any]]] = []
        for event in events:
            is_new = event["id"] in new_ids
            new_ids.discard(event["id"])  # the same id twice in one batch: once
            results.append(IngestedEvent(event["id"], event["type"], duplicate=not is_new))
            if is_new:
                fresh.append((event["id"], event["type"], event["data"]))
        start = 0
        while start < len(fresh):
            batch_handler = registry.device_events_handler(fresh[start][1])
            end = start + 1
            if batch_handler is None:
                _device_event_apply(device, *fresh[start])
            else:
                while (
                    end < len(fresh)
                    and registry.device_events_handler(fresh[end][1]) is batch_handler
                ):
                    end += 1
                batch_handler(device, fresh[start:end])
            start = end
    return results


def _device_events_record(device: Device, events: list[dict[str, Any]]) -> set[str]:
    """Store the events not stored yet (by the handle's external ids); the ids stored now.

    `INSERT … ON CONFLICT DO NOTHING`: a push of the same events racing this one waits for
    it to commit, then finds them stored (duplicates) instead of applying them twice."""
    table = DeviceEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (handle_id, external_id, type, data, received_at) "  # noqa: S608
            "SELECT %s, e.external_id, e.type, e.data::jsonb, %s "
            "FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY "
            "AS e(external_id, type, data, n) ORDER BY e.n "
            "ON CONFLICT (handle_id, external_id) DO NOTHING RETURNING external_id",
            [
                device.handle_id,
                timezone.now(),
                [event["id"] for event in events],
                [event["type"] for event in events],
                [json.dumps(event["data"]) for event in events],
            ],
        )
        return {row[0] for row in cursor.fetchall()}


def _device_event_apply(
    device: Device, external_id: str, event_type: str, data: dict[str, Any]
) -> None:
    handler = registry.device_event_handler(event_type)
    if handler is None:
        raise InvalidRequest(f"Event type {event_type!r} is not handled by this server.")
    handler(device, external_id, data)


def capability_set(
    *, account_id: str, address: str, imessage: bool | None = None, whatsapp: bool | None = None
) -> RecipientCapability:
    """Record what was learned about a recipient (e.g. not on iMessage after a failed send)."""
    values = {
        name: value
        for name, value in (("imessage", imessage), ("whatsapp", whatsapp))
        if value is not None
    }
    capability, _ = RecipientCapability.objects.update_or_create(
        account_id=account_id, address=address, defaults={**values, "checked_at": timezone.now()}
    )
    return capability


@registry.on_device_event("recipient.capability")
def capability_reported(device: Device, external_id: str, data: dict[str, Any]) -> None:
    """A device found out whether a recipient is on iMessage / WhatsApp."""
    capability_record(device=device, data=data)


def capability_record(*, device: Device, data: dict[str, Any]) -> RecipientCapability | None:
    """Remember what a device found out about a recipient (for its handle's account)."""
    address = handle_normalize(data.get("handle"), field="data.handle")
    values = {name: data[name] for name in ("imessage", "whatsapp") if name in data}
    for name, value in values.items():
        if value is not None and not isinstance(value, bool):
            raise InvalidRequest(f"data.{name} must be true, false or null.")
    account_id = device.handle.account_id
    if account_id is None:
        return None
    capability, _ = RecipientCapability.objects.update_or_create(
        account_id=account_id,
        address=address,
        defaults={**values, "checked_at": timezone.now()},
    )
    return capability
