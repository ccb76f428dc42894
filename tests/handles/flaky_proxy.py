"""A proxy in front of the live server that fails a device's first reports on purpose.

Each of the first reports (`POST /device/v1/events` or `/device/v1/jobs/results`) meets
the next fault of a plan: a 503, a 429, a connection dropped before the server saw the call,
or one dropped after the server applied it (the answer is lost: the worst case for an agent,
which must send it again and be told it is a duplicate). Everything else passes through.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

REPORT_PATHS = ("/device/v1/events", "/device/v1/jobs/results")
FAULTS = ("503", "429", "drop_before", "drop_after")


class FlakyProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, plan: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream.rstrip("/")
        self.plan = list(plan)
        self.injected: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_fault(self, method: str, path: str) -> str | None:
        if method != "POST" or path.split("?")[0] not in REPORT_PATHS:
            return None
        with self.lock:
            if not self.plan:
                return None
            fault = self.plan.pop(0)
            self.injected[fault] += 1
            return fault


class _Handler(BaseHTTPRequestHandler):
    server: FlakyProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = self.server.next_fault(self.command, self.path)
        if fault in ("503", "429"):
            payload = b'{"error": "unavailable", "message": "injected", "request_id": "req_x"}'
            self.send_response(int(fault))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if fault == "drop_before":
            self.close_connection = True
            return
        headers = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in ("host", "content-length", "connection")
        }
        answer = requests.request(
            self.command, self.server.upstream + self.path, data=body, headers=headers, timeout=60
        )
        if fault == "drop_after":
            self.close_connection = True
            return
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in (
                "content-length",
                "connection",
                "transfer-encoding",
                "content-encoding",
            ):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = _forward


@contextmanager
def flaky_proxy(upstream: str, plan: list[str]) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(upstream, plan)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
