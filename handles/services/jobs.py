"""Jobs for devices: created in batches by the apps, leased to a handle's device by its
long-poll, finished by the results it reports (each judged alone, applied in one transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contract.errors import Conflict, NotFound
from contract.raw import rows_update
from handles import registry, wakeups
from handles.models import (
    Device,
    Handle,
    Job,
)

LEASE = timedelta(seconds=60)


def handle_wakeup_key(handle_id: int) -> str:
    """What a handle's device waits on for new jobs (see `handles.wakeups`)."""
    return f"handle:{handle_id}"


def job_wakeup_key(job_id: str) -> str:
    """What an API call waits on for a job's result (see `handles.wakeups`)."""
    return f"job:{job_id}"


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
