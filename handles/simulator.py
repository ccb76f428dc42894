"""A simulated device: a real agent over HTTP, for the demo and for tests.

It heartbeats, long-polls jobs (many a poll), "sends" after a short delay, reports
`delivered` then `read` receipts, answers a text `ping` with an inbound `pong`, fails
recipients that match configured patterns, lets a test make a person write to the handle
(`receive`), and can be told to go offline. It speaks only the device protocol, through the
same client a real agent uses. Results and events go through the agent's `Outbox`: reported
in order, in batches, and every batch the server did not acknowledge (a 5xx, a 429, a reset
connection, no answer) is sent again until it is, so no result and no receipt is ever lost.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from handles.agent import AgentError, DeviceAgentClient, Job, Outbox, Report
from handles.agent import retryable as retryable

logger = logging.getLogger(__name__)
ACTIONS = frozenset(
    {"edit", "react", "unsend", "typing", "read", "group_rename", "group_add", "group_remove"}
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Behaviour:
    """How the simulated device and its simulated recipients behave."""

    send_delay: float = 0.2
    receipt_delay: float = 0.5
    not_registered: re.Pattern[str] = field(default_factory=lambda: re.compile(r"0000$"))
    failing: re.Pattern[str] = field(default_factory=lambda: re.compile(r"9999$"))
    channels: tuple[str, ...] = ("imessage", "sms")
    whatsapp_connected: bool = False
    heartbeat_every: float = 15.0
    poll_wait: int = 5
    poll_limit: int = 100
    # Longest pause before sending again a batch of reports the server did not acknowledge.
    retry_max_delay: float = 4.0
    # How long a report may wait for others to share its call (0: sent at once). A busy
    # agent trades this much latency for a server call per batch instead of per report.
    report_linger: float = 0.0
    # Job kinds the device fails, and kinds it takes but answers only after stall_seconds.
    fail_kinds: frozenset[str] = frozenset()
    stall_kinds: frozenset[str] = frozenset()
    stall_seconds: float = 30.0


@dataclass(frozen=True)
class Outcome:
    ok: bool
    upstream_id: str | None = None
    error: dict[str, str] | None = None
    # Events that follow a send (receipts, replies), pushed after the result is reported.
    then: tuple[tuple[int, dict[str, Any]], ...] = ()


class SimulatedDevice:
    """One agent for one handle: a polling thread and a reporting thread, until stopped."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        handle: str,
        behaviour: Behaviour | None = None,
        poll_url: str | None = None,
    ) -> None:
        """`poll_url`, when given, is where the long-polls go (a deployment that serves
        `GET /device/v1/jobs` from its own process); everything else goes to `base_url`."""
        self.handle = handle
        self.behaviour = behaviour or Behaviour()
        self.client = DeviceAgentClient(poll_url or base_url, token)
        # The reports go on their own connection: a long-poll never delays a receipt.
        self.outbox = Outbox(DeviceAgentClient(base_url, token), on_refused=self._refused)
        self.received: list[Job] = []
        self.downloads: dict[str, str] = {}  # attachment id -> sha256 of the bytes received
        self._outcomes: dict[str, Outcome] = {}
        self._stop = threading.Event()
        self._online = threading.Event()
        self._online.set()
        # Events planned for later (receipts, replies): (due, order, event), soonest first.
        self._planned: list[tuple[float, int, dict[str, Any]]] = []
        self._order = itertools.count()
        self.report_retries = 0  # batches sent again because the server did not acknowledge
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"sim-{handle}", daemon=True)
        self._reporter = threading.Thread(
            target=self._report_loop, name=f"sim-{handle}-reports", daemon=True
        )

    # --- control --------------------------------------------------------------------------

    def start(self) -> SimulatedDevice:
        self._thread.start()
        self._reporter.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._online.set()
        self._notify()
        self._thread.join(timeout)
        self._reporter.join(timeout)

    def go_offline(self) -> None:
        """Stop calling the server (as a device that lost its network would)."""
        self._online.clear()

    def come_online(self) -> None:
        self._online.set()
        self._notify()

    @property
    def offline(self) -> bool:
        return not self._online.is_set()

    def receive(
        self,
        sender: str,
        text: str,
        *,
        channel: str = "imessage",
        upstream_id: str | None = None,
    ) -> str:
        """A simulated person (`sender`) writes `text` to this handle: an inbound
        `message.received` pushed through the device protocol, like any other report. Give the
        `upstream_id` of an earlier one to push that same event again. Returns its upstream id."""
        upstream_id = upstream_id or f"sim-in-{uuid.uuid4().hex}"
        event = {
            "id": upstream_id,
            "type": "message.received",
            "data": {
                "upstream_id": upstream_id,
                "from": sender,
                "participants": [sender],
                "channel": channel,
                "text": text,
                "at": _now(),
            },
        }
        with self._wake:
            self.outbox.add_event(event)
            self._wake.notify_all()
        return upstream_id

    # --- the agent loop -----------------------------------------------------------------

    def _run(self) -> None:
        next_heartbeat = 0.0
        while not self._stop.is_set():
            if not self._online.is_set():
                self._online.wait(0.5)
                next_heartbeat = 0.0
                continue
            try:
                if time.monotonic() >= next_heartbeat:
                    self.client.heartbeat(
                        channels=list(self.behaviour.channels),
                        whatsapp_connected=self.behaviour.whatsapp_connected,
                        version="simulator",
                    )
                    next_heartbeat = time.monotonic() + self.behaviour.heartbeat_every
                jobs = self.client.fetch_jobs(
                    wait=self.behaviour.poll_wait, limit=self.behaviour.poll_limit
                )
                for job in jobs:
                    if self._online.is_set():
                        self._handle(job)
            except AgentError as exc:
                logger.warning("simulator %s: %s", self.handle, exc)
                self._stop.wait(1.0)

    def _handle(self, job: Job) -> None:
        outcome = self._outcomes.get(job.job_id)
        first_time = outcome is None
        if outcome is None:
            # A job seen again (after a lost lease) is not done twice: its result is resent.
            self.received.append(job)
            outcome = self._perform(job)
            self._outcomes[job.job_id] = outcome
        self.outbox.add_result(
            job.job_id, ok=outcome.ok, upstream_id=outcome.upstream_id, error=outcome.error
        )
        if first_time:
            for steps, event in outcome.then:
                self._later(steps, event)
        self._notify()

    # --- reporting ----------------------------------------------------------------------

    def _notify(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def _later(self, steps: int, event: dict[str, Any]) -> None:
        due = time.monotonic() + steps * self.behaviour.receipt_delay
        with self._wake:
            heapq.heappush(self._planned, (due, next(self._order), event))
            self._wake.notify_all()

    def _release_due(self) -> float:
        """Queue the planned events that are due (stamped now: when they happen); return how
        long until the next one is (or a second, when none is planned). Hold `_wake`."""
        now = time.monotonic()
        while self._planned and self._planned[0][0] <= now:
            _, _, event = heapq.heappop(self._planned)
            event["data"].setdefault("at", _now())
            self.outbox.add_event(event)
        return self._planned[0][0] - now if self._planned else 1.0

    def _report_loop(self) -> None:
        """Flush the outbox whenever it holds something and the device is online; a batch
        the server did not take is sent again after a back-off (safe: by job and event ids)."""
        first_delay = min(0.25, self.behaviour.retry_max_delay)
        delay = first_delay
        while not self._stop.is_set():
            with self._wake:
                until_next = self._release_due() if self._online.is_set() else 1.0
                if not self._online.is_set() or not len(self.outbox):
                    self._wake.wait(min(until_next, 1.0))
                    continue
                linger = self.behaviour.report_linger - self.outbox.waited()
                if linger > 0 and len(self.outbox) < self.outbox.batch_limit:
                    self._wake.wait(min(until_next, linger))
                    continue
            try:
                self.outbox.flush()
                delay = first_delay
            except AgentError as exc:
                logger.info("simulator %s: reports: %s, sending again", self.handle, exc)
                self.report_retries += 1
                self._stop.wait(delay)
                delay = min(delay * 2, self.behaviour.retry_max_delay)

    def _refused(self, report: Report, exc: AgentError) -> None:
        logger.warning("simulator %s: %s refused: %s", self.handle, report.kind, exc)

    def _perform(self, job: Job) -> Outcome:
        if job.kind in self.behaviour.stall_kinds:
            self._stop.wait(self.behaviour.stall_seconds)
        deadline = job.payload.get("deadline")
        if deadline and datetime.fromisoformat(deadline.replace("Z", "+00:00")) < datetime.now(UTC):
            # Too late: the caller was told it failed; doing it now would contradict that.
            return Outcome(ok=False, error={"code": "expired", "message": "past its deadline"})
        if job.kind in self.behaviour.fail_kinds:
            return Outcome(ok=False, error={"code": "refused", "message": f"{job.kind} refused"})
        if job.kind == "send":
            return self._send(job.payload)
        if job.kind == "group_create":
            return Outcome(ok=True, upstream_id=f"sim-group-{uuid.uuid4().hex}")
        if job.kind in ACTIONS:
            return Outcome(ok=True)
        return Outcome(ok=False, error={"code": "unsupported", "message": f"no {job.kind} here"})

    def _send(self, payload: dict[str, Any]) -> Outcome:
        to = payload.get("to")
        recipients = [str(r) for r in (to if isinstance(to, list) else [to])]
        if payload.get("channel") == "imessage" and any(
            self.behaviour.not_registered.search(r) for r in recipients
        ):
            return Outcome(
                ok=False,
                error={"code": "not_registered", "message": "Recipient is not on iMessage."},
            )
        if any(self.behaviour.failing.search(r) for r in recipients):
            return Outcome(
                ok=False, error={"code": "undeliverable", "message": "Recipient rejected it."}
            )
        for attachment in payload.get("attachments") or []:
            content = self.client.download_attachment(attachment["id"])
            self.downloads[attachment["id"]] = hashlib.sha256(content).hexdigest()
        time.sleep(self.behaviour.send_delay)
        upstream_id = f"sim-{uuid.uuid4().hex}"
        reference = {"upstream_id": upstream_id, "message_id": payload.get("message_id")}
        then = [
            (1, self._receipt("message.delivered", reference)),
            (2, self._receipt("message.read", reference)),
        ]
        if str(payload.get("text", "")).strip().lower() == "ping":
            then.append((2, self._pong(payload, recipients)))
        return Outcome(ok=True, upstream_id=upstream_id, then=tuple(then))

    def _receipt(self, event_type: str, reference: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"{reference['upstream_id']}:{event_type}",
            "type": event_type,
            "data": dict(reference),
        }

    def _pong(self, payload: dict[str, Any], recipients: list[str]) -> dict[str, Any]:
        upstream_id = f"sim-{uuid.uuid4().hex}"
        return {
            "id": upstream_id,
            "type": "message.received",
            "data": {
                "upstream_id": upstream_id,
                "from": recipients[0],
                "participants": recipients,
                "chat_id": payload.get("chat_id"),
                "channel": payload.get("channel"),
                "text": "pong",
            },
        }
