"""Writes at the device boundary, one module a concern:

- `fleet`: handles and their devices: assign and move a handle, pause and resume it, attach a
  device, record that it called, and the online/offline status that follows.
- `jobs`: jobs for devices: created by the apps, leased by the long-poll, finished by the
  results a device reports.
- `health`: a handle's line health, set from messaging's judgement or cleared by an operator.
- `device_events`: what devices push, recorded once each and handed to the apps' handlers;
  recipients' capabilities.

The names below are the boundary's API (`from handles import services`); reads are in
`handles.selectors`.
"""

from handles.services.device_events import (
    IngestedEvent,
    capability_record,
    capability_reported,
    capability_set,
    device_events_ingest,
)
from handles.services.fleet import (
    SEEN_EVERY,
    UNCHANGED,
    IssuedDevice,
    Unchanged,
    device_attach,
    device_heartbeat,
    device_seen,
    handle_assign,
    handle_pause,
    handle_pause_set,
    handle_resume,
    handles_mark_offline,
)
from handles.services.health import handle_health_clear, handle_health_set
from handles.services.jobs import (
    LEASE,
    ReportedResult,
    handle_wakeup_key,
    job_create,
    job_report_result,
    job_wakeup_key,
    job_withdraw,
    jobs_create,
    jobs_create_many,
    jobs_lease,
    jobs_report_results,
)

__all__ = [
    "LEASE",
    "SEEN_EVERY",
    "UNCHANGED",
    "IngestedEvent",
    "IssuedDevice",
    "ReportedResult",
    "Unchanged",
    "capability_record",
    "capability_reported",
    "capability_set",
    "device_attach",
    "device_events_ingest",
    "device_heartbeat",
    "device_seen",
    "handle_assign",
    "handle_health_clear",
    "handle_health_set",
    "handle_pause",
    "handle_pause_set",
    "handle_resume",
    "handle_wakeup_key",
    "handles_mark_offline",
    "job_create",
    "job_report_result",
    "job_wakeup_key",
    "job_withdraw",
    "jobs_create",
    "jobs_create_many",
    "jobs_lease",
    "jobs_report_results",
]
