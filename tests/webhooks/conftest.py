"""A real HTTP receiver on a local port, scripted per test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# The real pipeline (live server, Celery worker, simulated devices) of the messaging tests.
from accounts.models import Membership
from tests.conftest import signed_in
from tests.messaging.conftest import celery_worker, platform  # noqa: F401


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    client_port: int = 0


@dataclass
class Receiver:
    """Answers with `statuses` in turn (then 200), after sleeping `delay` seconds; with
    `keep_alive`, over HTTP/1.1 connections it keeps open (else one request a connection)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    keep_alive: bool = False
    received: list[Received] = field(default_factory=list)

    def bodies_of_type(self, event_type: str) -> list[Received]:
        import json

        return [r for r in self.received if json.loads(r.body)["type"] == event_type]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if receiver.keep_alive else "HTTP/1.0"
        disable_nagle_algorithm = True  # or a kept-alive answer's body waits for an ACK

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            port = self.client_address[1]
            receiver.received.append(Received(dict(self.headers), body, time.monotonic(), port))
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            payload = b'{"ok": true}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def make(**behaviour: Any) -> Receiver:
        receiver = Receiver(**behaviour)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        servers.append(server)
        return receiver

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(receiver_factory: Any) -> Receiver:
    return receiver_factory()


@pytest.fixture
def developer(alice):
    """A developer of Alice's account, signed in to the dashboard."""
    return signed_in(alice.account, Membership.Role.DEVELOPER, "dev@example.com")


@pytest.fixture
def viewer(alice):
    """A viewer of Alice's account, signed in to the dashboard."""
    return signed_in(alice.account, Membership.Role.VIEWER, "viewer@example.com")
