"""The device agent protocol under /device/v1/ (see docs/device-protocol.md).

`JobsView` waits for jobs without a thread or a database connection when served through ASGI
(the Procfile's `agents` process): see handles/device/long_poll.py.
"""

from __future__ import annotations

import time

from django.core.handlers.asgi import ASGIRequest
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from contract.envelope import envelope, ok
from contract.request_id import current_request_id
from contract.views import ApiView
from handles import services, wakeups
from handles.device import long_poll
from handles.device.auth import DeviceAuthentication, IsDevice, request_device
from handles.device.serializers import (
    DeviceEventResult,
    DeviceEventsInput,
    HeartbeatInput,
    HeartbeatOutput,
    JobOutput,
    JobResultInput,
    JobResultOutput,
    JobResultsInput,
    JobResultsItemOutput,
    JobsQuery,
)
from handles.selectors import offline_after

TAG = "device protocol"


class DeviceView(ApiView):
    authentication_classes = (DeviceAuthentication,)
    permission_classes = (IsDevice,)
    throttle_classes = ()


class HeartbeatView(DeviceView):
    @extend_schema(
        operation_id="device_heartbeat",
        summary="Report the device's state",
        description="Call at least every 30 s (any call counts as being seen).",
        tags=[TAG],
        request=HeartbeatInput,
        responses={200: envelope(HeartbeatOutput)},
    )
    def post(self, request: Request) -> Response:
        data = HeartbeatInput.parse(request)
        device = services.device_heartbeat(device=request_device(request), **data)
        return ok(
            HeartbeatOutput(
                {
                    "device_id": device.id,
                    "handle": device.handle.address,
                    "status": "online",
                    "server_time": timezone.now(),
                    "offline_after": int(offline_after().total_seconds()),
                }
            ).data
        )


class JobsView(DeviceView):
    allowed_query_params = frozenset({"wait", "limit"})

    @extend_schema(
        operation_id="device_jobs_lease",
        summary="Long-poll for jobs",
        description=(
            "Returns up to `limit` jobs, each leased to this device for 60 s. With `wait`, "
            "holds the request up to that many seconds until a job is ready and returns at "
            "once when one is. A job whose lease runs out is handed out again with the same "
            "`job_id`: de-duplicate by it."
        ),
        tags=[TAG],
        parameters=[JobsQuery],
        responses={200: envelope(JobOutput, many=True)},
    )
    def get(self, request: Request) -> Response:
        query = JobsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        device = request_device(request)
        limit = query.validated_data["limit"]
        deadline = time.monotonic() + query.validated_data["wait"]
        while True:
            jobs = services.jobs_lease(device=device, limit=limit)
            remaining = deadline - time.monotonic()
            if jobs or remaining <= 0:
                break
            long_poll.release_database_connection()
            if isinstance(request._request, ASGIRequest):
                # The rest of the wait happens outside Django, in the event loop.
                token = long_poll.park(
                    device=device, limit=limit, deadline=deadline, request_id=current_request_id()
                )
                response = ok([])
                response[long_poll.PARKED_HEADER] = token
                return response
            wakeups.wait(
                services.handle_wakeup_key(device.handle_id),
                min(long_poll.recheck_interval(), remaining),
            )
        return ok(JobOutput(jobs, many=True).data)


class JobResultView(DeviceView):
    @extend_schema(
        operation_id="device_job_result",
        summary="Report a job's result",
        description=(
            "Only for a job this device holds (else 409 `conflict`); the same result twice "
            "changes nothing the second time (`duplicate: true`). A job of another handle is "
            "404."
        ),
        tags=[TAG],
        request=JobResultInput,
        responses={200: envelope(JobResultOutput)},
    )
    def post(self, request: Request, job_id: str) -> Response:
        data = JobResultInput.parse(request)
        job, changed = services.job_report_result(
            device=request_device(request), job_id=job_id, **data
        )
        return ok(JobResultOutput({"job": job, "duplicate": not changed}).data)


class JobResultsView(DeviceView):
    @extend_schema(
        operation_id="device_job_results",
        summary="Report many jobs' results",
        description=(
            "Up to 100 results in one call, recorded in order in one transaction. Each gets "
            "its own `outcome`: a job this device does not hold (`conflict`) or that is not "
            "its handle's (`not_found`) does not refuse the others. Safe to repeat: a result "
            "already recorded is `duplicate`. A malformed item refuses the whole call (400, "
            "nothing recorded)."
        ),
        tags=[TAG],
        request=JobResultsInput,
        responses={200: envelope(JobResultsItemOutput, many=True)},
    )
    def post(self, request: Request) -> Response:
        data = JobResultsInput.parse(request)
        answers = services.jobs_report_results(
            device=request_device(request), results=data["results"]
        )
        return ok(JobResultsItemOutput(answers, many=True).data)


class EventsView(DeviceView):
    @extend_schema(
        operation_id="device_events_push",
        summary="Push events",
        description=(
            "Inbound messages, delivery and read receipts, reactions, chat changes and "
            "recipient capabilities, up to 100 a call, applied in order, all or nothing. Each "
            "carries the device's own `id`: an event already applied is skipped "
            "(`duplicate: true`)."
        ),
        tags=[TAG],
        request=DeviceEventsInput,
        responses={200: envelope(DeviceEventResult, many=True)},
    )
    def post(self, request: Request) -> Response:
        data = DeviceEventsInput.parse(request)
        results = services.device_events_ingest(
            device=request_device(request), events=data["events"]
        )
        return ok(DeviceEventResult(results, many=True).data)
