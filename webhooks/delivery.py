"""Sending one delivery attempt: the HTTP request, safely, and what to do with its answer."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from requests_hardened import Config, HTTPSession

from contract.times import rfc3339
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.signing import headers as signature_headers
from webhooks.urls_safety import private_urls_allowed

TIMEOUT_SECONDS = 10.0
EXCERPT_BYTES = 2048
USER_AGENT = "Switchboard-Webhooks/1.0"
# After the first attempt (immediately): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
DISABLE_AFTER = timedelta(days=5)


@dataclass(frozen=True)
class AttemptOutcome:
    status_code: int | None
    duration_ms: int
    excerpt: str
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _session() -> HTTPSession:
    return HTTPSession(
        Config(
            ip_filter_enable=not private_urls_allowed(),
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=(5.0, TIMEOUT_SECONDS),
            user_agent_override=USER_AGENT,
        )
    )


def body_of(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    payload = {
        "id": event.id,
        "type": event.type,
        "created_at": rfc3339(event.created_at),
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def valid_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    secrets = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(endpoint.previous_secret)
    return secrets


def post(delivery: WebhookDelivery, *, now: datetime) -> AttemptOutcome:
    """POST the event to the endpoint: no redirects, a checked address, 10 s at most."""
    endpoint = delivery.endpoint
    body = body_of(delivery)
    request_headers = {
        "Content-Type": "application/json",
        **signature_headers(
            secrets_=valid_secrets(endpoint, now),
            message_id=delivery.event_id,
            timestamp=int(now.timestamp()),
            body=body,
        ),
    }
    started = time.monotonic()
    try:
        with _session() as session:
            response = session.post(endpoint.url, data=body, headers=request_headers, stream=True)
            excerpt = b""
            try:
                for chunk in response.iter_content(chunk_size=1024):
                    excerpt += chunk
                    if (
                        len(excerpt) >= EXCERPT_BYTES
                        or time.monotonic() - started > TIMEOUT_SECONDS
                    ):
                        break
            finally:
                response.close()
        return AttemptOutcome(
            status_code=response.status_code,
            duration_ms=int((time.monotonic() - started) * 1000),
            excerpt=excerpt[:EXCERPT_BYTES].decode("utf-8", "replace"),
            error="",
        )
    except requests.RequestException as exc:
        return AttemptOutcome(
            status_code=None,
            duration_ms=int((time.monotonic() - started) * 1000),
            excerpt="",
            error=f"{type(exc).__name__}: {exc}"[:500],
        )
