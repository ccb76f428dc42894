"""Synchronous device actions: an API call that waits for the device's answer.

The job is committed at once (the device must see it), then the caller waits on a Redis
wake-up for the result with its database connection released, re-reading the job at most
every 2 s. No answer in time: the job is withdrawn, so it can never run later; if the
device answered in that same instant, its answer wins.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contract import metrics
from contract.times import rfc3339
from handles import selectors, services, wakeups
from handles.errors import DeviceActionFailed, DeviceOffline
from handles.models import Handle, Job

RECHECK_SECONDS = 2.0


def _release_database_connection() -> None:
    if not connection.in_atomic_block:
        connection.close()


def job_run_sync(
    *, handle: Handle, kind: str, payload: dict[str, Any], failure: type[DeviceActionFailed]
) -> Job:
    """Run `kind` on the handle's device and return the succeeded job.

    503 `device_offline` at once (no job made) when the device has not called recently;
    502 (`failure`'s code) with the device's reason when it fails, or when it does not answer
    within SWITCHBOARD_SYNC_ACTION_TIMEOUT seconds.
    """
    if connection.in_atomic_block:
        raise RuntimeError(
            "job_run_sync must not run inside a transaction: the device must see the job"
        )
    device = selectors.live_device(handle=handle)
    if device is None or not selectors.is_online(device.last_seen_at):
        metrics.sync_action_observe(kind=kind, outcome="offline")
        raise DeviceOffline(f"The device of {handle.address} is offline.")
    deadline_seconds = float(settings.SWITCHBOARD_SYNC_ACTION_TIMEOUT)
    # The agent must not perform the job after this moment (device-protocol.md): the API
    # caller has been told it failed, and the job is withdrawn.
    expires_at = rfc3339(timezone.now() + timedelta(seconds=deadline_seconds))
    with transaction.atomic():
        job = services.job_create(
            handle=handle, kind=kind, payload={**payload, "deadline": expires_at}
        )
    deadline = time.monotonic() + deadline_seconds
    while True:
        job.refresh_from_db(fields=["status", "result"])
        if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED):
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if services.job_withdraw(job=job):
                metrics.sync_action_observe(kind=kind, outcome="timeout")
                raise failure(
                    f"The device did not answer within {deadline_seconds} s; nothing was done.",
                )
            continue  # it finished in this very instant: read its answer
        _release_database_connection()
        wakeups.wait(services.job_wakeup_key(job.pk), min(RECHECK_SECONDS, remaining))
    succeeded = job.status == Job.Status.SUCCEEDED
    metrics.sync_action_observe(kind=kind, outcome="succeeded" if succeeded else "failed")
    if not succeeded:
        error = (job.result or {}).get("error") or {}
        reason = error.get("message") or error.get("code") or "the device reported a failure"
        raise failure(f"The device could not do it: {reason}")
    return job
