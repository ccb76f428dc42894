"""Sending delivery attempts: the HTTP request, safely, over pooled keep-alive connections.

Every attempt goes through a `requests_hardened` session: no redirects, a connect and read
timeout, the resolved address checked against the IP filter at every connection (the pool is
keyed by that checked address, so a reused connection goes to an address that was checked),
and at most 2 KiB of the answer read. Sessions are kept per thread and per origin
(`sessions_for_thread`), so a batch of attempts to one endpoint reuses one TCP (and TLS)
connection; a body longer than the excerpt closes its connection rather than reading on.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

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
# Sessions a delivery thread keeps open (one per origin it delivered to lately), and how long
# an unused one is kept: a receiver's idle keep-alive connection is not trusted for long.
SESSIONS_PER_THREAD = 8
SESSION_IDLE_SECONDS = 30.0


@dataclass(frozen=True)
class AttemptOutcome:
    status_code: int | None
    duration_ms: int
    excerpt: str
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _new_session(*, ip_filter: bool) -> HTTPSession:
    return HTTPSession(
        Config(
            ip_filter_enable=ip_filter,
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=(5.0, TIMEOUT_SECONDS),
            user_agent_override=USER_AGENT,
        )
    )


class _Sessions(threading.local):
    def __init__(self) -> None:
        # (IP filter on, scheme, host, port) -> (session, when last used: monotonic)
        self.by_origin: OrderedDict[
            tuple[bool, str, str, int | None], tuple[HTTPSession, float]
        ] = OrderedDict()


_sessions = _Sessions()


def session_for(url: str) -> HTTPSession:
    """This thread's keep-alive session for the URL's origin (made, or reused if fresh)."""
    parts = urlsplit(url)
    key = (not private_urls_allowed(), parts.scheme, parts.hostname or "", parts.port)
    now = time.monotonic()
    cached = _sessions.by_origin.pop(key, None)
    if cached is not None and now - cached[1] > SESSION_IDLE_SECONDS:
        cached[0].close()
        cached = None
    session = cached[0] if cached is not None else _new_session(ip_filter=key[0])
    _sessions.by_origin[key] = (session, now)
    while len(_sessions.by_origin) > SESSIONS_PER_THREAD:
        _, (oldest, _) = _sessions.by_origin.popitem(last=False)
        oldest.close()
    return session


def sessions_close() -> None:
    """Close this thread's sessions (and their connections)."""
    while _sessions.by_origin:
        _, (session, _) = _sessions.by_origin.popitem()
        session.close()


def event_body(*, event_id: str, type: str, created_at: datetime, data: Any) -> bytes:
    """The POSTed body: the event's id, type, creation time and data, compact JSON."""
    if isinstance(data, str | bytes):  # jsonb as text, as a raw query may return it
        data = json.loads(data)
    payload = {"id": event_id, "type": type, "created_at": rfc3339(created_at), "data": data}
    return json.dumps(payload, separators=(",", ":")).encode()


def body_of(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    return event_body(
        event_id=event.id, type=event.type, created_at=event.created_at, data=event.data
    )


def valid_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    secrets = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(endpoint.previous_secret)
    return secrets


def post_body(
    *, url: str, secrets: list[str], event_id: str, body: bytes, now: datetime
) -> AttemptOutcome:
    """POST a signed body: no redirects, a checked address, 10 s at most, 2 KiB read."""
    request_headers = {
        "Content-Type": "application/json",
        **signature_headers(
            secrets_=secrets, message_id=event_id, timestamp=int(now.timestamp()), body=body
        ),
    }
    started = time.monotonic()
    try:
        session = session_for(url)
        response = session.post(url, data=body, headers=request_headers, stream=True)
        excerpt = b""
        try:
            for chunk in response.iter_content(chunk_size=1024):
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES or time.monotonic() - started > TIMEOUT_SECONDS:
                    break
        finally:
            # A body read to its end leaves the connection in the pool; one cut short closes it.
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


def post(delivery: WebhookDelivery, *, now: datetime) -> AttemptOutcome:
    """POST the delivery's event to its endpoint (see `post_body`)."""
    endpoint = delivery.endpoint
    return post_body(
        url=endpoint.url,
        secrets=valid_secrets(endpoint, now),
        event_id=delivery.event_id,
        body=body_of(delivery),
        now=now,
    )
