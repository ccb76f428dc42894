"""The device protocol client: what a Mac relay, a WhatsApp bridge or the simulator uses.

Only `requests` and the standard library: it can be copied into an agent that does not run
Django. docs/device-protocol.md describes the calls it makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

POLL_SLACK_SECONDS = 10


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
