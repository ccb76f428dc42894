"""The device protocol client: what a Mac relay, a WhatsApp bridge or the simulator uses.

Only `requests` and the standard library: it can be copied into an agent that does not run
Django. docs/device-protocol.md describes the calls it makes.

`Outbox` is how an agent reports without ever losing a report: every job result and every
event is queued, and `flush` sends them up to 100 a call (`POST /jobs/results` for results,
`POST /events` for events): results in the order they were queued, events in theirs, and
never an event before a result queued ahead of it (results may overtake events, so all the
results waiting go in one call, whatever events lie between them). A call the server did
not acknowledge (a 5xx, a 429, a reset connection, a timeout, no answer) leaves its batch
first in line, to be sent again, and again, until it is: both calls are safe to repeat
(results by job id, events by their ids).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

POLL_SLACK_SECONDS = 10
BATCH_LIMIT = 100  # most results, or events, the server takes in one call


class AgentError(Exception):
    """The server answered with an error (its code and message) or could not be reached."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: str
    payload: dict[str, Any]
    deliveries: int


class DeviceAgentClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/") + "/device/v1"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Device {token}"

    def _call(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> Any:
        try:
            response = self.session.request(
                method, self.base_url + path, timeout=timeout or self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise AgentError(0, "unreachable", str(exc)) from exc
        try:
            body = response.json()
        except ValueError:
            body = {"error": "invalid_response", "message": response.text[:200]}
        if response.status_code >= 400:
            raise AgentError(response.status_code, body.get("error", ""), body.get("message", ""))
        return body["data"]

    def heartbeat(
        self, *, channels: list[str], whatsapp_connected: bool = False, version: str = ""
    ) -> dict[str, Any]:
        """Tell the server the device is alive and what it can do."""
        payload = {
            "channels": channels,
            "whatsapp_connected": whatsapp_connected,
            "version": version,
        }
        result: dict[str, Any] = self._call("POST", "/heartbeat", json=payload)
        return result

    def fetch_jobs(self, *, wait: int = 25, limit: int = 10) -> list[Job]:
        """Long-poll for jobs: returns as soon as one is ready, or empty after `wait` s."""
        rows = self._call(
            "GET",
            "/jobs",
            params={"wait": wait, "limit": limit},
            timeout=wait + POLL_SLACK_SECONDS,
        )
        return [Job(r["job_id"], r["kind"], r["payload"], r["deliveries"]) for r in rows]

    def report_result(
        self,
        job_id: str,
        *,
        ok: bool,
        upstream_id: str | None = None,
        error: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Report how a job went; safe to repeat (the server answers `duplicate: true`)."""
        body = {"ok": ok, "upstream_id": upstream_id, "error": error}
        result: dict[str, Any] = self._call("POST", f"/jobs/{job_id}/result", json=body)
        return result

    def report_results(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Report up to 100 results (each `{job_id, ok, upstream_id, error}`) in one call.

        Each gets its own outcome (`recorded`, `duplicate`, `conflict`, `not_found`): one job
        the device no longer holds does not refuse the others. Safe to repeat."""
        answer: list[dict[str, Any]] = self._call(
            "POST", "/jobs/results", json={"results": results}
        )
        return answer

    def download_attachment(self, attachment_id: str) -> bytes:
        """The bytes of an attachment named in a `send` job."""
        try:
            response = self.session.get(
                f"{self.base_url}/attachments/{attachment_id}", timeout=self.timeout * 4
            )
        except requests.RequestException as exc:
            raise AgentError(0, "unreachable", str(exc)) from exc
        if response.status_code >= 400:
            raise AgentError(response.status_code, "download_failed", response.text[:200])
        return response.content

    def upload_attachment(self, filename: str, content: bytes) -> dict[str, Any]:
        """Upload inbound media; name the returned id in a `message.received` event."""
        result: dict[str, Any] = self._call(
            "POST", "/attachments", files={"file": (filename, content)}, timeout=self.timeout * 4
        )
        return result

    def push_events(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Push events (each `{id, type, data}`); safe to repeat (by the events' ids)."""
        result: list[dict[str, Any]] = self._call("POST", "/events", json={"events": events})
        return result


def retryable(exc: AgentError) -> bool:
    """Whether the server may not have taken the call: a 5xx, a 429, or no answer at all.
    Such a call is sent again; any other refusal is final."""
    return exc.status == 0 or exc.status == 429 or exc.status >= 500


@dataclass(frozen=True)
class Report:
    """One queued report: a job result or an event, and what the server said of it."""

    kind: str  # "result" or "event"
    body: dict[str, Any]


class Outbox:
    """Results and events waiting to reach the server, in the order they happened.

    Thread-safe: any thread may `add_result` / `add_event`; one thread flushes. `refused`
    holds what the server refused for good (a 4xx other than 429, alone in its call: a
    batch refused as a whole is resent one report at a time, so one bad report never takes
    the others with it); `on_refused` is called with each.
    """

    def __init__(
        self,
        client: DeviceAgentClient,
        *,
        batch_limit: int = BATCH_LIMIT,
        on_refused: Callable[[Report, AgentError], None] | None = None,
    ) -> None:
        self.client = client
        self.batch_limit = batch_limit
        self.on_refused = on_refused
        self.refused: list[tuple[Report, AgentError]] = []
        self.acknowledged = 0
        self._queue: deque[Report] = deque()
        self._first_queued_at: float | None = None  # when the queue last became non-empty
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)

    def add_result(
        self,
        job_id: str,
        *,
        ok: bool,
        upstream_id: str | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        body = {"job_id": job_id, "ok": ok, "upstream_id": upstream_id, "error": error}
        self._add(Report("result", body))

    def add_event(self, event: dict[str, Any]) -> None:
        """Queue an event `{id, type, data}` (its `id` makes a resend harmless)."""
        self._add(Report("event", event))

    def _add(self, report: Report) -> None:
        with self._ready:
            if not self._queue:
                self._first_queued_at = time.monotonic()
            self._queue.append(report)
            self._ready.notify_all()

    def waited(self) -> float:
        """How long the oldest queued report has been waiting (0 when none is)."""
        with self._lock:
            if not self._queue or self._first_queued_at is None:
                return 0.0
            return time.monotonic() - self._first_queued_at

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` s until something is queued; True if something is."""
        with self._ready:
            if not self._queue:
                self._ready.wait(timeout)
            return bool(self._queue)

    def _head(self) -> list[Report]:
        """The next batch, up to the limit. Results may go ahead of events queued before
        them (every result queued, in order, in one call), but an event never goes ahead of
        a result queued before it: when the queue starts with events, the batch is those
        up to the first result."""
        with self._lock:
            if not self._queue:
                return []
            if self._queue[0].kind == "result":
                results = (report for report in self._queue if report.kind == "result")
                return list(itertools.islice(results, self.batch_limit))
            batch: list[Report] = []
            for report in self._queue:
                if len(batch) >= self.batch_limit or report.kind == "result":
                    break
                batch.append(report)
            return batch

    def _drop(self, batch: list[Report]) -> None:
        """Remove these (acknowledged or refused) reports from the queue."""
        done = {id(report) for report in batch}
        with self._lock:
            self._queue = deque(report for report in self._queue if id(report) not in done)
            self.acknowledged += len(batch)
            self._first_queued_at = time.monotonic() if self._queue else None

    def _send(self, batch: list[Report]) -> None:
        bodies = [report.body for report in batch]
        call = self.client.report_results if batch[0].kind == "result" else self.client.push_events
        try:
            call(bodies)
        except AgentError as exc:
            if exc.status != 0:
                raise
            # Most often a kept-alive connection the server had just closed: once more at
            # once, on a new connection (safe: the call is idempotent), before backing off.
            call(bodies)

    def flush(self) -> None:
        """Send everything queued, batch by batch (see `_head` for the order), until the
        queue is empty: at most a call of results and a call of events for all that waited.

        Raises `AgentError` (retryable) when the server did not acknowledge a batch: that
        batch stays queued, first in line; call `flush` again (after a pause)."""
        while batch := self._head():
            try:
                self._send(batch)
            except AgentError as exc:
                if retryable(exc):
                    raise
                if len(batch) > 1:
                    # Refused as a whole (one report is malformed): resend one at a time.
                    self._flush_one_by_one(batch)
                    continue
                self._refuse(batch[0], exc)
            self._drop(batch)

    def _flush_one_by_one(self, batch: list[Report]) -> None:
        for report in batch:
            try:
                self._send([report])
            except AgentError as exc:
                if retryable(exc):
                    raise
                self._refuse(report, exc)
            self._drop([report])

    def _refuse(self, report: Report, exc: AgentError) -> None:
        self.refused.append((report, exc))
        if self.on_refused is not None:
            self.on_refused(report, exc)
